// Over the house's 350 lines on purpose, for now: split by role (topic, watermarks, look-back,
// read-back, publisher; branches kafka-split and kafka-split2), the plugin lost a few acknowledged
// records in KafkaOutageTests on two clean-clone CI runs of the whole suite, which this file never
// did; it stays whole until that is understood.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Edge.Brokers.Kafka.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Edge.Brokers.Kafka;

/// <summary>
/// The log is one Kafka topic. Records: key = channel, value = the envelope JSON, header
/// <c>edge-message-id</c> = the message id. Every edge instance reads all partitions itself
/// (manual assignment, no consumer group, no commits); the epoch is the topic id.
/// </summary>
public sealed class KafkaBroker : IEventBroker
{
    public const string TypeName = "Kafka";

    private const int ReadBatchSize = 256;
    private static readonly TimeSpan UnavailableRefreshInterval = TimeSpan.FromSeconds(2);

    private readonly KafkaBrokerOptions _options;
    private readonly ILogger<KafkaBroker> _logger;
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim _replayGate;
    private readonly SemaphoreSlim _openGate = new(1, 1);
    private readonly Lock _producerGate = new();
    private readonly CancellationTokenSource _disposed = new();
    private IAdminClient? _admin;
    private readonly Lock _watermarksGate = new();
    private readonly System.Collections.Concurrent.ConcurrentBag<IDisposable> _retired = [];
    private volatile IConsumer<Ignore, byte[]>? _watermarks;
    private DateTimeOffset _watermarksRenewed;
    private IProducer<string, byte[]>? _producer;
    private volatile bool _producerFaulted;
    private volatile TopicState? _state;
    private volatile BrokerHealth _health = BrokerHealth.Available;
    private long[]? _startOffsets;
    private TopicState? _startState;
    private Task? _refreshLoop;

    public KafkaBroker(IOptions<KafkaBrokerOptions> options, ILogger<KafkaBroker> logger, TimeProvider timeProvider)
    {
        _options = options.Value;
        _logger = logger;
        _timeProvider = timeProvider;
        _replayGate = new SemaphoreSlim(Math.Max(1, _options.ReplayConcurrency));
        Clients = new KafkaClients(_options, logger, OnClientError);
    }

    public string Name => TypeName;

    public BrokerHealth Health => _health;

    internal KafkaClients Clients { get; }

    /// <summary>The topic as last described (set by <see cref="OpenAsync"/>, refreshed periodically).</summary>
    internal TopicState State => _state ?? throw new InvalidOperationException("OpenAsync must complete first.");

    public async Task<LogSnapshot> OpenAsync(CancellationToken cancellationToken)
    {
        await _openGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _admin ??= Clients.CreateAdmin();
            _watermarks ??= Clients.CreateConsumer("meta", partitionEof: false);
            var state = await DescribeOrCreateAsync(cancellationToken).ConfigureAwait(false);
            var (low, high) = await Task.Run(() => QueryWatermarks(state.PartitionCount), cancellationToken).ConfigureAwait(false);
            _startOffsets = await Task.Run(() => LookBackOffsets(low, high), cancellationToken).ConfigureAwait(false);
            var previous = _state;
            if (previous is null || previous.Epoch != state.Epoch || previous.PartitionCount != state.PartitionCount)
            {
                _state = state;
            }

            // The feed starts from what this Open saw; it catches up with later changes itself.
            _startState = _state;

            _refreshLoop ??= Task.Run(() => RefreshLoopAsync(_disposed.Token), CancellationToken.None);
            MarkAvailable();
            Log.Opened(_logger, _options.Topic, state.Epoch, state.PartitionCount);
            var lookingBack = _options.LookBack > TimeSpan.Zero || _options.LookBackRecords > 0;
            return new LogSnapshot(state.Epoch, high) { FeedStartOffsets = lookingBack ? (long[])_startOffsets.Clone() : null };
        }
        catch (KafkaException e)
        {
            MarkUnavailable(KafkaClients.Describe(e.Error));
            throw new BrokerUnavailableException($"Kafka topic '{_options.Topic}' could not be opened: {e.Error.Reason}", e) { RetryAfter = TimeSpan.FromSeconds(2) };
        }
        finally
        {
            _openGate.Release();
        }
    }

    public int GetPartition(string channel) =>
        KafkaPartitioning.Partition(_options.Partitioner, channel, State.PartitionCount);

    public async IAsyncEnumerable<BrokerRecord> SubscribeAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var start = _startOffsets ?? throw new InvalidOperationException("OpenAsync must complete before SubscribeAsync.");
        var startState = _startState!;
        var feed = new KafkaLiveFeed(this, _options.Topic, startState, start, _logger);
        feed.Start();
        try
        {
            var reader = feed.Reader;
            Task<bool>? wait = null;
            while (true)
            {
                if (!reader.TryPeek(out _))
                {
                    // Wake now and then to notice a re-created topic even when nothing arrives.
                    wait ??= reader.WaitToReadAsync(cancellationToken).AsTask();
                    if (await Task.WhenAny(wait, Task.Delay(TimeSpan.FromSeconds(2), _timeProvider, cancellationToken)).ConfigureAwait(false) == wait)
                    {
                        var more = await wait.ConfigureAwait(false);
                        wait = null;
                        if (!more)
                        {
                            break;
                        }
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (_state is { } state && !string.Equals(state.Epoch, startState.Epoch, StringComparison.Ordinal))
                {
                    throw new LogHistoryLostException($"Kafka topic '{_options.Topic}' was re-created (topic id epoch {startState.Epoch} is now {state.Epoch}).");
                }

                while (reader.TryRead(out var record))
                {
                    yield return record;
                }
            }
        }
        finally
        {
            await feed.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async IAsyncEnumerable<BrokerRecord> ReadAsync(int partition, long fromOffset, long toOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if ((uint)partition >= (uint)State.PartitionCount || fromOffset >= toOffset)
        {
            yield break;
        }

        await _replayGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        IConsumer<Ignore, byte[]>? consumer = null;
        try
        {
            var topicPartition = new TopicPartition(_options.Topic, partition);
            var watermarks = await Task.Run(() => Watermarks(topicPartition), cancellationToken).ConfigureAwait(false);
            var start = Math.Max(fromOffset, watermarks.Low.Value);
            var end = Math.Min(toOffset, watermarks.High.Value);
            if (start >= end)
            {
                yield break;
            }

            consumer = Clients.CreateConsumer("read", partitionEof: true);
            consumer.Assign(new TopicPartitionOffset(topicPartition, start));
            var batch = new List<ConsumeResult<Ignore, byte[]>>(ReadBatchSize);
            var done = false;
            while (!done)
            {
                batch.Clear();
                var reader = consumer;
                done = await Task.Run(() => FillReadBatch(reader, batch, end, cancellationToken), cancellationToken).ConfigureAwait(false);
                foreach (var result in batch)
                {
                    yield return KafkaLiveFeed.ToRecord(result);
                }
            }
        }
        finally
        {
            consumer?.Dispose();
            _replayGate.Release();
        }
    }

    public async Task<long> GetEarliestOffsetAsync(int partition, CancellationToken cancellationToken)
    {
        if ((uint)partition >= (uint)State.PartitionCount)
        {
            return 0;
        }

        var watermarks = await Task.Run(() => Watermarks(new TopicPartition(_options.Topic, partition)), cancellationToken).ConfigureAwait(false);
        return watermarks.Low.Value;
    }

    public async Task<PublishReceipt> PublishAsync(IReadOnlyList<BrokerMessage> messages, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (messages.Count == 0)
        {
            return new PublishReceipt([]);
        }

        var producer = GetProducer();
        var batch = new PublishBatch(messages.Count);
        var deadline = _timeProvider.GetUtcNow() + _options.PublishTimeout;
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            var record = new Message<string, byte[]>
            {
                Key = message.Channel,
                Value = AsArray(message.Body),
                Headers = [new Header(KafkaLiveFeed.MessageIdHeader, Encoding.UTF8.GetBytes(message.MessageId))],
            };
            var index = i;
            Action<DeliveryReport<string, byte[]>> onDelivered = r => batch.Report(index, r);
            Error? refused;
            while (!TryProduce(producer, record, onDelivered, out refused) && refused.Code == ErrorCode.Local_QueueFull && _timeProvider.GetUtcNow() < deadline)
            {
                // The local queue drains as the brokers acknowledge; wait for room, within the publish timeout.
                await Task.Delay(TimeSpan.FromMilliseconds(20), _timeProvider, cancellationToken).ConfigureAwait(false);
            }

            if (refused is not null)
            {
                batch.Abandon(i, refused);
                break;
            }
        }

        PublishReceipt receipt;
        try
        {
            // librdkafka reports every message by message.timeout.ms; the slack covers a report still in flight.
            receipt = await batch.Task.WaitAsync(_options.PublishTimeout + TimeSpan.FromSeconds(5), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            Log.PublishFailed(_logger, messages.Count, "no delivery report in time");
            throw new BrokerUnavailableException("Kafka did not acknowledge the publish in time.", e) { RetryAfter = TimeSpan.FromSeconds(2) };
        }

        if (batch.FirstError is { } failure)
        {
            var reason = KafkaClients.Describe(failure);
            Log.PublishFailed(_logger, batch.Failed, reason);
            throw new BrokerUnavailableException($"Kafka did not acknowledge {batch.Failed} of {messages.Count} messages: {failure.Reason}") { RetryAfter = TimeSpan.FromSeconds(2) };
        }

        MarkAvailable();
        return receipt;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        if (_refreshLoop is not null)
        {
            await _refreshLoop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        IProducer<string, byte[]>? producer;
        lock (_producerGate)
        {
            producer = _producer;
            _producer = null;
        }

        await Task.Run(() =>
        {
            if (producer is not null)
            {
                producer.Flush(TimeSpan.FromSeconds(2));
                producer.Dispose();
            }

            _watermarks?.Dispose();
            foreach (var retired in _retired)
            {
                retired.Dispose();
            }

            _admin?.Dispose();
        }).ConfigureAwait(false);
    }

    /// <summary>Re-reads the topic's metadata now: partition count, topic id (epoch), reachability.</summary>
    internal async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var current = _state;
        var fresh = await DescribeAsync(cancellationToken).ConfigureAwait(false);
        if (fresh is null)
        {
            MarkUnavailable($"the topic '{_options.Topic}' does not exist");
            return;
        }

        MarkAvailable();
        if (current is null)
        {
            return;
        }

        if (fresh.Epoch != current.Epoch)
        {
            Log.TopicRecreated(_logger, _options.Topic, current.Epoch, fresh.Epoch);
            _state = fresh;
        }
        else if (fresh.PartitionCount != current.PartitionCount)
        {
            Log.PartitionsChanged(_logger, _options.Topic, fresh.PartitionCount, current.PartitionCount);
            _state = fresh;
        }
    }

    internal void MarkAvailable()
    {
        if (!_health.IsAvailable)
        {
            _health = BrokerHealth.Available;
            Log.Available(_logger);
        }
    }

    private void MarkUnavailable(string reason)
    {
        var wasAvailable = _health.IsAvailable;
        _health = BrokerHealth.Unavailable(reason);
        if (wasAvailable)
        {
            Log.Unavailable(_logger, reason);
        }
    }

    private void OnClientError(Error error)
    {
        if (error.IsFatal)
        {
            _producerFaulted = true;
            MarkUnavailable("fatal client error " + KafkaClients.Describe(error));
        }
        else if (error.Code is ErrorCode.Local_AllBrokersDown)
        {
            MarkUnavailable("all Kafka brokers are down");
        }
        else if (error.Code is ErrorCode.Local_Authentication or ErrorCode.SaslAuthenticationFailed or ErrorCode.TopicAuthorizationFailed)
        {
            MarkUnavailable("not authorized: " + error.Code);
        }
    }

    private async Task RefreshLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var interval = _health.IsAvailable || _options.MetadataRefreshInterval < UnavailableRefreshInterval
                ? _options.MetadataRefreshInterval
                : UnavailableRefreshInterval;
            try
            {
                await Task.Delay(interval, _timeProvider, cancellationToken).ConfigureAwait(false);
                await RefreshAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KafkaException or TimeoutException)
            {
                var reason = e is KafkaException k ? KafkaClients.Describe(k.Error) : "metadata request timed out";
                Log.MetadataRefreshFailed(_logger, _options.Topic, reason);
                MarkUnavailable(reason);
            }
        }
    }

    /// <summary>Describes the topic; null when it does not exist.</summary>
    private async Task<TopicState?> DescribeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await _admin!.DescribeTopicsAsync(
                    TopicCollection.OfTopicNames([_options.Topic]),
                    new DescribeTopicsOptions { RequestTimeout = _options.RequestTimeout })
                .WaitAsync(_options.RequestTimeout + TimeSpan.FromSeconds(1), _timeProvider, cancellationToken)
                .ConfigureAwait(false);
            var description = result.TopicDescriptions[0];
            var epoch = KafkaEpoch.FromTopicId(description.TopicId)
                ?? (string.IsNullOrEmpty(_options.Epoch) ? KafkaEpoch.FromTopicName(_options.Topic) : _options.Epoch);
            return new TopicState(epoch, description.Partitions.Count);
        }
        catch (DescribeTopicsException e) when (e.Results.TopicDescriptions.Count > 0 && e.Results.TopicDescriptions[0].Error.Code == ErrorCode.UnknownTopicOrPart)
        {
            return null;
        }
    }

    private async Task<TopicState> DescribeOrCreateAsync(CancellationToken cancellationToken)
    {
        var deadline = _timeProvider.GetUtcNow() + _options.RequestTimeout;
        var created = false;
        while (true)
        {
            if (await DescribeAsync(cancellationToken).ConfigureAwait(false) is { } state)
            {
                return state;
            }

            if (!_options.CreateTopic)
            {
                throw new BrokerUnavailableException($"Kafka topic '{_options.Topic}' does not exist and Edge:Broker:Kafka:CreateTopic is false.");
            }

            if (!created)
            {
                created = true;
                await CreateTopicAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (_timeProvider.GetUtcNow() > deadline)
            {
                throw new BrokerUnavailableException($"Kafka topic '{_options.Topic}' was created but its metadata did not appear in time.");
            }

            // A created topic takes a moment to appear in every broker's metadata.
            await Task.Delay(TimeSpan.FromMilliseconds(200), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CreateTopicAsync(CancellationToken cancellationToken)
    {
        var specification = new TopicSpecification
        {
            Name = _options.Topic,
            NumPartitions = _options.Partitions,
            ReplicationFactor = _options.ReplicationFactor,
        };
        if (_options.RetentionMs != 0)
        {
            specification.Configs = new Dictionary<string, string> { ["retention.ms"] = _options.RetentionMs.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }

        try
        {
            await _admin!.CreateTopicsAsync([specification], new CreateTopicsOptions { RequestTimeout = _options.RequestTimeout, OperationTimeout = _options.RequestTimeout })
                .WaitAsync(_options.RequestTimeout + TimeSpan.FromSeconds(1), _timeProvider, cancellationToken)
                .ConfigureAwait(false);
            Log.TopicCreated(_logger, _options.Topic, _options.Partitions);
        }
        catch (CreateTopicsException e) when (e.Results.Count > 0 && e.Results[0].Error.Code == ErrorCode.TopicAlreadyExists)
        {
        }
        catch (CreateTopicsException e)
        {
            var reason = e.Results.Count > 0 ? KafkaClients.Describe(e.Results[0].Error) : e.Message;
            Log.CreateTopicFailed(_logger, _options.Topic, reason);
            throw new BrokerUnavailableException($"Kafka topic '{_options.Topic}' could not be created: {reason}", e);
        }
        catch (KafkaException e)
        {
            Log.CreateTopicFailed(_logger, _options.Topic, KafkaClients.Describe(e.Error));
            throw new BrokerUnavailableException($"Kafka topic '{_options.Topic}' could not be created: {e.Error.Reason}", e);
        }
    }

    private WatermarkOffsets Watermarks(TopicPartition topicPartition)
    {
        var deadline = _timeProvider.GetUtcNow() + _options.RequestTimeout;
        while (true)
        {
            try
            {
                return _watermarks!.QueryWatermarkOffsets(topicPartition, _options.RequestTimeout);
            }
            catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_UnknownPartition && _timeProvider.GetUtcNow() < deadline)
            {
                // A partition just added is not yet in this client's metadata cache, which a
                // watermark query does not refresh: a new client reads fresh metadata.
                RenewWatermarksClient();
                Thread.Sleep(100);
            }
            catch (KafkaException e)
            {
                MarkUnavailable(KafkaClients.Describe(e.Error));
                throw new BrokerUnavailableException($"Kafka did not report the offsets of partition {topicPartition.Partition.Value}: {e.Error.Reason}", e) { RetryAfter = TimeSpan.FromSeconds(2) };
            }
        }
    }

    private void RenewWatermarksClient()
    {
        lock (_watermarksGate)
        {
            var now = _timeProvider.GetUtcNow();
            if (now - _watermarksRenewed < TimeSpan.FromSeconds(1))
            {
                return;
            }

            _watermarksRenewed = now;
            // Another thread may still be using the old client: it is disposed with the broker.
            _retired.Add(_watermarks!);
            _watermarks = Clients.CreateConsumer("meta", partitionEof: false);
        }
    }

    private (long[] Low, long[] High) QueryWatermarks(int partitionCount)
    {
        var low = new long[partitionCount];
        var high = new long[partitionCount];
        for (var p = 0; p < partitionCount; p++)
        {
            var watermarks = Watermarks(new TopicPartition(_options.Topic, p));
            low[p] = Math.Max(0, watermarks.Low.Value);
            high[p] = Math.Max(0, watermarks.High.Value);
        }

        return (low, high);
    }

    /// <summary>Where the live feed starts: the heads, or earlier by the configured look-back.</summary>
    private long[] LookBackOffsets(long[] low, long[] high)
    {
        var start = (long[])high.Clone();
        if (_options.LookBack <= TimeSpan.Zero && _options.LookBackRecords <= 0)
        {
            return start;
        }

        var byCount = new bool[start.Length];
        if (_options.LookBack > TimeSpan.Zero)
        {
            var since = new Timestamp(_timeProvider.GetUtcNow() - _options.LookBack);
            var query = new List<TopicPartitionTimestamp>(start.Length);
            for (var p = 0; p < start.Length; p++)
            {
                query.Add(new TopicPartitionTimestamp(_options.Topic, p, since));
            }

            var found = _watermarks!.OffsetsForTimes(query, _options.RequestTimeout);
            foreach (var result in found)
            {
                var p = result.Partition.Value;
                if ((uint)p >= (uint)start.Length)
                {
                    continue;
                }

                var offset = result.Offset.Value;
                if (offset >= low[p] && offset < high[p])
                {
                    start[p] = offset;
                }
                else if (high[p] > low[p] && LastTimestamp(p, high[p] - 1) >= since.UnixTimestampMs)
                {
                    // The cluster answered "nothing that recent" although the last record is: it has no time index.
                    byCount[p] = true;
                }
            }
        }
        else
        {
            Array.Fill(byCount, true);
        }

        for (var p = 0; p < start.Length; p++)
        {
            if (byCount[p] && _options.LookBackRecords > 0)
            {
                start[p] = Math.Max(low[p], high[p] - _options.LookBackRecords);
                if (_options.LookBack > TimeSpan.Zero)
                {
                    Log.LookBackByCount(_logger, p, _options.LookBackRecords);
                }
            }
        }

        return start;
    }

    private long LastTimestamp(int partition, long offset)
    {
        using var consumer = Clients.CreateConsumer("probe", partitionEof: true);
        consumer.Assign(new TopicPartitionOffset(_options.Topic, partition, offset));
        var deadline = _timeProvider.GetUtcNow() + _options.RequestTimeout;
        while (_timeProvider.GetUtcNow() < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            return result.IsPartitionEOF ? long.MinValue : result.Message.Timestamp.UnixTimestampMs;
        }

        return long.MinValue;
    }

    /// <summary>Consumes up to one batch of a read-back; returns true when the range is complete.</summary>
    private bool FillReadBatch(IConsumer<Ignore, byte[]> consumer, List<ConsumeResult<Ignore, byte[]>> batch, long end, CancellationToken cancellationToken)
    {
        var idleDeadline = _timeProvider.GetUtcNow() + _options.ReadTimeout;
        while (batch.Count < ReadBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ConsumeResult<Ignore, byte[]>? result;
            try
            {
                result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                var position = e.ConsumerRecord?.TopicPartitionOffset;
                Log.RecordError(_logger, position?.Partition.Value ?? -1, position?.Offset.Value ?? -1, KafkaClients.Describe(e.Error));
                continue;
            }
            catch (KafkaException e)
            {
                throw new BrokerUnavailableException($"Reading back from Kafka failed: {e.Error.Reason}", e) { RetryAfter = TimeSpan.FromSeconds(2) };
            }

            if (result is null)
            {
                if (_timeProvider.GetUtcNow() > idleDeadline)
                {
                    throw new BrokerUnavailableException("Reading back from Kafka timed out.") { RetryAfter = TimeSpan.FromSeconds(2) };
                }

                continue;
            }

            idleDeadline = _timeProvider.GetUtcNow() + _options.ReadTimeout;
            if (result.IsPartitionEOF)
            {
                return true;
            }

            if (result.Offset.Value >= end)
            {
                return true;
            }

            batch.Add(result);
            if (result.Offset.Value >= end - 1)
            {
                return true;
            }
        }

        return false;
    }

    private IProducer<string, byte[]> GetProducer()
    {
        lock (_producerGate)
        {
            ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
            if (_producer is not null && _producerFaulted)
            {
                Log.ProducerFaulted(_logger, "fatal error reported");
                var faulted = _producer;
                _producer = null;
                _ = Task.Run(faulted.Dispose);
            }

            if (_producer is null)
            {
                _producerFaulted = false;
                _producer = Clients.CreateProducer();
            }

            return _producer;
        }
    }

    /// <summary>Hands one record to the producer; false (with the error) when it refuses it.</summary>
    private bool TryProduce(IProducer<string, byte[]> producer, Message<string, byte[]> record, Action<DeliveryReport<string, byte[]>> onDelivered, [NotNullWhen(false)] out Error? error)
    {
        try
        {
            producer.Produce(_options.Topic, record, onDelivered);
            error = null;
            return true;
        }
        catch (ProduceException<string, byte[]> e)
        {
            error = e.Error;
            return false;
        }
        catch (KafkaException e)
        {
            error = e.Error;
            return false;
        }
    }

    private static byte[] AsArray(ReadOnlyMemory<byte> body) =>
        MemoryMarshal.TryGetArray(body, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : body.ToArray();
}
