using System.Runtime.CompilerServices;
using Edge.Brokers.RabbitMq.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace Edge.Brokers.RabbitMq;

/// <summary>
/// The log is one RabbitMQ stream queue, read in full by every edge instance (one partition,
/// offsets are stream offsets). Publishing goes to the stream with publisher confirms; the live
/// feed is a stream consumer that this class re-creates itself after a connection loss, at the
/// offset after the last record it yielded; read-backs are short-lived consumers from an offset.
/// The epoch is kept beside the stream (see <see cref="EpochStore"/>).
/// </summary>
public sealed class RabbitMqBroker : IEventBroker
{
    public const string TypeName = "RabbitMq";

    private readonly RabbitMqBrokerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RabbitMqConnector _connector;
    private readonly StreamTopology _topology;
    private readonly EpochStore _epochs;
    private readonly StreamPublisher _publisher;
    private readonly SemaphoreSlim _replayGate;
    private volatile OpenedLog? _opened;
    private volatile string? _historyLost;
    private volatile string? _feedProblem;
    private volatile bool _disposed;
    private long _knownHead;
    private long _lastYielded = -1;

    public RabbitMqBroker(IOptions<RabbitMqBrokerOptions> options, ILogger<RabbitMqBroker>? logger = null, TimeProvider? timeProvider = null)
    {
        _options = options.Value;
        var errors = RabbitMqBrokerOptionsValidator.Collect(_options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(RabbitMqBrokerOptionsValidator.Section, typeof(RabbitMqBrokerOptions), errors);
        }

        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _connector = new RabbitMqConnector(_options, _logger, _time);
        _topology = new StreamTopology(_options, _logger, _time);
        _epochs = new EpochStore(_options.StreamName);
        _publisher = new StreamPublisher(_connector, _options, _logger, _time);
        _replayGate = new SemaphoreSlim(_options.ReplayConcurrency, _options.ReplayConcurrency);
    }

    public string Name => TypeName;

    /// <summary>The stream this broker reads.</summary>
    public string StreamName => _options.StreamName;

    public BrokerHealth Health
    {
        get
        {
            if (_historyLost is { } lost)
            {
                return BrokerHealth.Unavailable($"the history of stream '{_options.StreamName}' was lost ({lost}); reopen");
            }

            if (_connector.Problem is { } problem)
            {
                return BrokerHealth.Unavailable("RabbitMQ: " + problem);
            }

            return _feedProblem is { } feed ? BrokerHealth.Unavailable($"the feed of stream '{_options.StreamName}' is reconnecting: {feed}") : BrokerHealth.Available;
        }
    }

    public async Task<LogSnapshot> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            var connection = await _connector.GetAsync(cancellationToken).ConfigureAwait(false);
            string epoch;
            long head;
            await using (await _epochs.LockAsync(connection, cancellationToken).ConfigureAwait(false))
            {
                (epoch, head) = await ResolveEpochAsync(connection, cancellationToken).ConfigureAwait(false);
            }

            // With a look-back the feed starts earlier, and the snapshot says so: the host then
            // takes the records between the look-back start and the head into its replay window.
            var start = await FindFeedStartAsync(connection, head, cancellationToken).ConfigureAwait(false);
            _opened = new OpenedLog(epoch, start);
            _historyLost = null;
            _feedProblem = null;
            Interlocked.Exchange(ref _knownHead, head);
            Interlocked.Exchange(ref _lastYielded, -1);
            Log.Opened(_logger, _options.StreamName, epoch, head, start);
            return new LogSnapshot(epoch, [start]);
        }
        catch (Exception ex) when (ex is not (BrokerUnavailableException or OperationCanceledException))
        {
            throw new BrokerUnavailableException($"Cannot open stream '{_options.StreamName}': {RabbitMqConnector.Describe(ex)}", ex) { RetryAfter = TimeSpan.FromSeconds(1) };
        }
    }

    public int GetPartition(string channel) => 0;

    public async IAsyncEnumerable<BrokerRecord> SubscribeAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var opened = _opened ?? throw new InvalidOperationException("OpenAsync must complete before SubscribeAsync.");
        if (_historyLost is { } lost)
        {
            throw new BrokerUnavailableException($"The history of stream '{_options.StreamName}' was lost ({lost}); reopen the broker.");
        }

        // A new subscription after a failed one continues the instance's feed; the last record is
        // yielded again in case the caller failed while handling it (it drops what it already has).
        var lastYielded = Interlocked.Read(ref _lastYielded);
        var resume = lastYielded >= 0 ? lastYielded : opened.Start;
        StreamSession? session = null;
        var reconnect = false;
        try
        {
            while (true)
            {
                if (session is null)
                {
                    session = await StartFeedAsync(opened.Epoch, resume, reconnect, cancellationToken).ConfigureAwait(false);
                    reconnect = true;
                }

                var reader = session.Reader;
                if (!reader.TryRead(out var delivery))
                {
                    var ended = await WaitForDeliveryAsync(reader, cancellationToken).ConfigureAwait(false);
                    if (ended is not null)
                    {
                        _feedProblem = ended;
                        Log.FeedInterrupted(_logger, _options.StreamName, resume - 1, ended, 0);
                        await session.DisposeAsync().ConfigureAwait(false);
                        session = null;
                    }

                    continue;
                }

                if (delivery.Offset < resume)
                {
                    Log.SkippedDuplicate(_logger, delivery.Offset, _options.StreamName, resume);
                    continue;
                }

                resume = delivery.Offset + 1;
                RaiseKnownHead(resume);
                Interlocked.Exchange(ref _lastYielded, delivery.Offset);
                yield return delivery.ToRecord();
            }
        }
        finally
        {
            if (session is not null)
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public async IAsyncEnumerable<BrokerRecord> ReadAsync(int partition, long fromOffset, long toOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        fromOffset = Math.Max(0, fromOffset);
        if (partition != 0 || fromOffset >= toOffset)
        {
            yield break;
        }

        // What this instance has not seen yet reaches it through the live feed.
        var end = toOffset;
        if (_opened is not null)
        {
            end = Math.Min(toOffset, Interlocked.Read(ref _knownHead));
            if (fromOffset >= end)
            {
                yield break;
            }
        }

        await _replayGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        StreamSession? session = null;
        try
        {
            session = await StartReadAsync(fromOffset, toOffset, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var next = await NextWithinIdleAsync(session, fromOffset, toOffset, cancellationToken).ConfigureAwait(false);
                if (next is not { } delivery)
                {
                    yield break;
                }

                if (delivery.Offset < fromOffset)
                {
                    continue;
                }

                if (delivery.Offset >= toOffset)
                {
                    yield break;
                }

                yield return delivery.ToRecord();
                if (delivery.Offset >= end - 1)
                {
                    yield break;
                }
            }
        }
        finally
        {
            if (session is not null)
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }

            _replayGate.Release();
        }
    }

    public async Task<long> GetEarliestOffsetAsync(int partition, CancellationToken cancellationToken)
    {
        if (partition != 0)
        {
            return 0;
        }

        await _replayGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await _connector.GetAsync(cancellationToken).ConfigureAwait(false);
            var earliest = await _topology.ProbeFirstOffsetAsync(connection, "first", cancellationToken).ConfigureAwait(false);
            return earliest ?? Interlocked.Read(ref _knownHead);
        }
        catch (Exception ex) when (ex is not (BrokerUnavailableException or OperationCanceledException))
        {
            throw new BrokerUnavailableException($"Cannot read the start of stream '{_options.StreamName}': {RabbitMqConnector.Describe(ex)}", ex) { RetryAfter = TimeSpan.FromSeconds(1) };
        }
        finally
        {
            _replayGate.Release();
        }
    }

    public async Task<PublishReceipt> PublishAsync(IReadOnlyList<BrokerMessage> messages, CancellationToken cancellationToken)
    {
        await _publisher.PublishAsync(messages, cancellationToken).ConfigureAwait(false);

        // A stream over AMQP does not report the offsets it assigned.
        return new PublishReceipt(new LogPosition?[messages.Count]);
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _publisher.DisposeAsync().ConfigureAwait(false);
        await _connector.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Under the epoch lock: makes sure the stream exists, finds its head and decides the epoch.</summary>
    private async Task<(string Epoch, long Head)> ResolveEpochAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var created = false;
        if (!await StreamTopology.QueueExistsAsync(connection, _options.StreamName, cancellationToken).ConfigureAwait(false))
        {
            if (!_options.DeclareStream)
            {
                throw new BrokerUnavailableException($"Stream '{_options.StreamName}' does not exist and {RabbitMqBrokerOptionsValidator.Section}:DeclareStream is false.");
            }

            await _topology.DeclareAsync(connection, cancellationToken).ConfigureAwait(false);
            created = true;
        }
        else if (_options.DeclareStream)
        {
            await _topology.CheckArgumentsAsync(connection, cancellationToken).ConfigureAwait(false);
            await _topology.DeclareExchangeAsync(connection, cancellationToken).ConfigureAwait(false);
        }

        var entry = await _epochs.ReadAsync(connection, cancellationToken).ConfigureAwait(false);
        long head = 0;
        if (!created)
        {
            var probed = await _topology.ProbeHeadAsync(connection, StreamTopology.FirstDeliveryTimeout, cancellationToken).ConfigureAwait(false);
            if (probed is null && entry is { Head: > 0 })
            {
                // Records were seen before: give a slow broker more time before calling the stream empty.
                probed = await _topology.ProbeHeadAsync(connection, StreamTopology.SlowFirstDeliveryTimeout, cancellationToken).ConfigureAwait(false);
            }

            head = probed ?? 0;
        }

        var reason = created ? "the edge created the stream"
            : entry is null ? "no epoch was recorded for the stream"
            : head < entry.Head ? $"its head {head} is below the recorded {entry.Head}, so it was re-created"
            : null;
        if (reason is not null)
        {
            var epoch = EpochStore.NewEpoch();
            await _epochs.WriteAsync(connection, new EpochEntry(epoch, head), cancellationToken).ConfigureAwait(false);
            if (created)
            {
                Log.CreatedWithEpoch(_logger, _options.StreamName, epoch);
            }
            else
            {
                Log.NewEpoch(_logger, _options.StreamName, epoch, reason);
            }

            return (epoch, head);
        }

        if (head > entry!.Head)
        {
            await _epochs.WriteAsync(connection, entry with { Head = head }, cancellationToken).ConfigureAwait(false);
        }

        return (entry.Epoch, head);
    }

    /// <summary>Where the live feed starts: the head, or the configured look-back before it.</summary>
    private async Task<long> FindFeedStartAsync(IConnection connection, long head, CancellationToken cancellationToken)
    {
        var lookBack = _options.LookBack;
        if (lookBack.Count > 0)
        {
            return Math.Max(0, head - lookBack.Count);
        }

        if (lookBack.Age > TimeSpan.Zero && head > 0)
        {
            var since = new AmqpTimestamp((_time.GetUtcNow() - lookBack.Age).ToUnixTimeSeconds());
            var first = await _topology.ProbeFirstOffsetAsync(connection, since, cancellationToken).ConfigureAwait(false);
            return first is { } offset && offset < head ? offset : head;
        }

        return head;
    }

    /// <summary>
    /// Starts (or re-starts) the live consumer, retrying with backoff until it runs. A restart
    /// first checks, under the epoch lock, that the stream still holds the history being read.
    /// </summary>
    private async Task<StreamSession> StartFeedAsync(string epoch, long resume, bool reconnect, CancellationToken cancellationToken)
    {
        var delay = _options.ReconnectDelayMin;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await _connector.GetAsync(cancellationToken).ConfigureAwait(false);
                if (reconnect)
                {
                    await VerifyHistoryAsync(connection, epoch, resume, cancellationToken).ConfigureAwait(false);
                }

                var session = await StreamSession.StartAsync(connection, _options.StreamName, _options.Prefetch, resume, _time, _logger, cancellationToken).ConfigureAwait(false);
                _feedProblem = null;
                if (reconnect)
                {
                    Log.FeedResumed(_logger, _options.StreamName, resume, attempt);
                }
                else
                {
                    Log.FeedStarted(_logger, _options.StreamName, resume);
                }

                return session;
            }
            catch (HistoryLostException ex)
            {
                _historyLost = ex.Message;
                Log.HistoryLost(_logger, _options.StreamName, ex.Message);
                throw new BrokerUnavailableException($"The history of stream '{_options.StreamName}' was lost: {ex.Message}. Reopen the broker.", ex);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && !_disposed)
            {
                _feedProblem = RabbitMqConnector.Describe(ex);
                var jittered = delay + TimeSpan.FromMilliseconds(Random.Shared.Next((int)Math.Max(1, delay.TotalMilliseconds / 4)));
                Log.FeedInterrupted(_logger, _options.StreamName, resume - 1, RabbitMqConnector.Describe(ex), (long)jittered.TotalMilliseconds);
                await Task.Delay(jittered, _time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectDelayMax.Ticks));
            }
        }
    }

    private async Task VerifyHistoryAsync(IConnection connection, string epoch, long resume, CancellationToken cancellationToken)
    {
        await using var held = await _epochs.LockAsync(connection, cancellationToken).ConfigureAwait(false);
        if (!await StreamTopology.QueueExistsAsync(connection, _options.StreamName, cancellationToken).ConfigureAwait(false))
        {
            if (!_options.DeclareStream)
            {
                throw new BrokerUnavailableException($"Stream '{_options.StreamName}' does not exist.");
            }

            await _topology.DeclareAsync(connection, cancellationToken).ConfigureAwait(false);
            var fresh = EpochStore.NewEpoch();
            await _epochs.WriteAsync(connection, new EpochEntry(fresh, 0), cancellationToken).ConfigureAwait(false);
            Log.NewEpoch(_logger, _options.StreamName, fresh, "the stream was deleted; the edge re-created it");
            throw new HistoryLostException("the stream was deleted");
        }

        var entry = await _epochs.ReadAsync(connection, cancellationToken).ConfigureAwait(false);
        if (entry is not null && entry.Epoch != epoch)
        {
            throw new HistoryLostException($"the stream's epoch is now {entry.Epoch}");
        }

        if (resume <= 0)
        {
            return;
        }

        var head = await _topology.ProbeHeadAsync(connection, StreamTopology.FirstDeliveryTimeout, cancellationToken).ConfigureAwait(false)
            ?? await _topology.ProbeHeadAsync(connection, StreamTopology.SlowFirstDeliveryTimeout, cancellationToken).ConfigureAwait(false);
        if (head is null || head < resume)
        {
            var fresh = EpochStore.NewEpoch();
            await _epochs.WriteAsync(connection, new EpochEntry(fresh, head ?? 0), cancellationToken).ConfigureAwait(false);
            Log.NewEpoch(_logger, _options.StreamName, fresh, $"its head {head ?? 0} is below offset {resume} already read, so it was re-created");
            throw new HistoryLostException("the stream was re-created");
        }

        if (entry is null || head > entry.Head)
        {
            await _epochs.WriteAsync(connection, new EpochEntry(epoch, head.Value), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<StreamSession> StartReadAsync(long fromOffset, long toOffset, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await _connector.GetAsync(cancellationToken).ConfigureAwait(false);
            return await StreamSession.StartAsync(connection, _options.StreamName, _options.Prefetch, fromOffset, _time, _logger, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (BrokerUnavailableException or OperationCanceledException))
        {
            Log.ReadFailed(_logger, _options.StreamName, fromOffset, toOffset, RabbitMqConnector.Describe(ex));
            throw new BrokerUnavailableException($"Cannot read back stream '{_options.StreamName}': {RabbitMqConnector.Describe(ex)}", ex) { RetryAfter = TimeSpan.FromSeconds(1) };
        }
    }

    /// <summary>The next read-back delivery, or null once none arrived for <see cref="RabbitMqBrokerOptions.ReadIdleTimeout"/>.</summary>
    private async Task<StreamDelivery?> NextWithinIdleAsync(StreamSession session, long fromOffset, long toOffset, CancellationToken cancellationToken)
    {
        var reader = session.Reader;
        if (reader.TryRead(out var ready))
        {
            return ready;
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(_options.ReadIdleTimeout);
        try
        {
            if (await reader.WaitToReadAsync(idle.Token).ConfigureAwait(false) && reader.TryRead(out var delivery))
            {
                return delivery;
            }

            await reader.Completion.ConfigureAwait(false);
            throw new StreamSessionLostException("the consumer ended");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ReadFailed(_logger, _options.StreamName, fromOffset, toOffset, RabbitMqConnector.Describe(ex));
            throw new BrokerUnavailableException($"Reading back stream '{_options.StreamName}' was interrupted: {RabbitMqConnector.Describe(ex)}", ex) { RetryAfter = TimeSpan.FromSeconds(1) };
        }
    }

    /// <summary>Null when a delivery is ready; otherwise why the session ended.</summary>
    private static async Task<string?> WaitForDeliveryAsync(System.Threading.Channels.ChannelReader<StreamDelivery> reader, CancellationToken cancellationToken)
    {
        try
        {
            if (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            await reader.Completion.ConfigureAwait(false);
            return "the consumer ended";
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return RabbitMqConnector.Describe(ex);
        }
    }

    private void RaiseKnownHead(long head)
    {
        var current = Interlocked.Read(ref _knownHead);
        while (head > current)
        {
            var seen = Interlocked.CompareExchange(ref _knownHead, head, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>The epoch, and the offset the live feed starts at (the head, or before it with a look-back).</summary>
    private sealed record OpenedLog(string Epoch, long Start);
}
