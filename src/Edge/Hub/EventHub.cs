using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text;
using Edge.Brokers;
using Edge.Brokers.Cursors;
using Edge.Brokers.Envelopes;
using Edge.Configuration;
using Edge.Diagnostics;
using Edge.Sse;
using Microsoft.Extensions.Options;

namespace Edge.Hub;

/// <summary>
/// The heart of an instance: one reader of the broker's whole log, a replay window per partition,
/// the channel index, and every open connection. Each record is parsed and encoded once, kept in
/// the window, and offered to the connections of its channel without ever waiting for them.
/// </summary>
internal sealed partial class EventHub
{
    private readonly IEventBroker _broker;
    private readonly ReplayOptions _replay;
    private readonly EdgeMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EventHub> _logger;
    private readonly ChannelIndex _index = new();
    private readonly ConcurrentDictionary<long, SseConnection> _connections = new();
    private readonly SemaphoreSlim _brokerReads;
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _growGate = new();
    private readonly ArrayBufferWriter<byte> _feedScratch = new(4096);
    private readonly DispatchShard[] _shards;
    private readonly MessageIdDeduplicator _deduplicator;
    private volatile PartitionState[] _partitions = [];
    private string _epoch = string.Empty;
    private byte[] _epochAscii = [];
    private long _nextConnectionId;
    private volatile bool _draining;

    public EventHub(IEventBroker broker, IOptions<EdgeOptions> options, EdgeMetrics metrics, TimeProvider timeProvider, ILogger<EventHub> logger)
    {
        _broker = broker;
        _replay = options.Value.Replay;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        _brokerReads = new SemaphoreSlim(_replay.BrokerReadConcurrency);
        _deduplicator = new MessageIdDeduplicator(_replay.DeduplicationIds);
        _shards = new DispatchShard[Math.Max(1, Environment.ProcessorCount)];
        for (var i = 0; i < _shards.Length; i++)
        {
            _shards[i] = new DispatchShard(this, i, _shards.Length);
        }
    }

    public bool IsOpen => _opened.Task.IsCompletedSuccessfully;

    public bool IsDraining => _draining;

    public string Epoch => _epoch;

    public IEventBroker Broker => _broker;

    public int ConnectionCount => _connections.Count;

    public int ChannelCount => _index.ChannelCount;

    public Task WhenOpen => _opened.Task;

    /// <summary>Opens the log (retrying while the broker is down) and then reads it until stopped.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var dispatchers = _shards.Select(shard => Task.Run(shard.RunAsync, CancellationToken.None)).ToArray();
        try
        {
            await ReadFeedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var shard in _shards)
            {
                shard.Complete();
            }

            await Task.WhenAll(dispatchers).ConfigureAwait(false);
        }
    }

    private async Task ReadFeedAsync(CancellationToken cancellationToken)
    {
        await OpenAsync(cancellationToken).ConfigureAwait(false);
        var delay = TimeSpan.FromMilliseconds(100);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var record in _broker.SubscribeAsync(cancellationToken).ConfigureAwait(false))
                {
                    Ingest(record);
                    delay = TimeSpan.FromMilliseconds(100);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (LogHistoryLostException ex)
            {
                // Positions of the old epoch mean nothing now: take the new epoch and send every
                // client back to reconnect, where its old cursor earns the gap signal.
                Log.HistoryLost(_logger, _broker.Name, ex);
                await OpenAsync(cancellationToken).ConfigureAwait(false);
                foreach (var (_, connection) in _connections)
                {
                    connection.Close(CloseReason.Shutdown);
                }
            }
            catch (Exception ex)
            {
                // Resubscribing is safe: records at or below each partition's position are dropped.
                Log.FeedFailed(_logger, _broker.Name, delay.TotalMilliseconds, ex);
                await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }

        Log.HubStopped(_logger);
    }

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                var snapshot = await _broker.OpenAsync(cancellationToken).ConfigureAwait(false);
                if (!EventCursor.IsValidEpoch(snapshot.Epoch))
                {
                    throw new InvalidOperationException($"The {_broker.Name} broker reported the invalid epoch '{snapshot.Epoch}'.");
                }

                var partitions = new PartitionState[snapshot.PartitionCount];
                for (var i = 0; i < partitions.Length; i++)
                {
                    var head = snapshot.NextOffsets[i];
                    var feedStart = snapshot.FeedStartOffsets is { } starts && i < starts.Count ? Math.Min(starts[i], head) : head;
                    partitions[i] = new PartitionState(head, new ReplayWindow(_replay, _timeProvider, head)) { WarmUpNext = feedStart, WarmUpStart = feedStart < head ? feedStart : null };
                }

                _epoch = snapshot.Epoch;
                _epochAscii = Encoding.ASCII.GetBytes(snapshot.Epoch);
                _partitions = partitions;
                Log.BrokerOpened(_logger, _broker.Name, snapshot.Epoch, snapshot.PartitionCount);
                _opened.TrySetResult();
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _opened.TrySetCanceled(cancellationToken);
                throw;
            }
            catch (Exception ex)
            {
                Log.BrokerOpenFailed(_logger, _broker.Name, delay.TotalMilliseconds, ex);
                await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    /// <summary>Takes one record from the feed: parse, drop duplicates, encode once, keep, dispatch.</summary>
    internal void Ingest(BrokerRecord record)
    {
        _metrics.RecordRead();
        var state = GetPartition(record.Partition);
        if (record.Offset < Volatile.Read(ref state.NextOffset))
        {
            WarmUp(state, record);
            return;
        }

        state.WarmUpNext = record.Offset + 1;
        if (state.WarmUpStart is { } start)
        {
            // The first live record: the look-back before it is complete.
            state.WarmUpStart = null;
            state.Window.CoverFrom(start);
        }

        var prepared = TryPrepare(record, _feedScratch, deduplicate: true, out var malformed);
        if (prepared is null)
        {
            if (malformed is not null)
            {
                _metrics.RecordMalformed();
                Log.MalformedRecord(_logger, record.Partition, record.Offset, malformed);
            }
            else
            {
                _metrics.RecordDuplicate();
                Log.DuplicateRecord(_logger, record.Partition, record.Offset);
            }

            Interlocked.Exchange(ref state.NextOffset, record.Offset + 1);
            return;
        }

        state.Window.Append(prepared);

        // The full fence orders this position before reading the subscribers; registration
        // orders its index entry before reading positions. Either the connection is in the
        // snapshot below, or its starting position already includes this event.
        Interlocked.Exchange(ref state.NextOffset, record.Offset + 1);

        foreach (var shard in _shards)
        {
            shard.Offer(prepared);
        }
    }

    /// <summary>Hands an event to its connections on the calling thread (micro-benchmarks; the feed uses the shards).</summary>
    internal void DispatchNow(PreparedEvent prepared)
    {
        foreach (var shard in _shards)
        {
            shard.Dispatch(prepared);
        }
    }

    /// <summary>
    /// A record from before the head, read because of a look-back: it goes into the replay
    /// window (once, in order) for resuming clients, never to live connections.
    /// </summary>
    private void WarmUp(PartitionState state, BrokerRecord record)
    {
        if (record.Offset < state.WarmUpNext)
        {
            return;
        }

        state.WarmUpNext = record.Offset + 1;
        var prepared = TryPrepare(record, _feedScratch, deduplicate: true, out var malformed);
        if (prepared is not null)
        {
            state.Window.Append(prepared);
        }
        else if (malformed is not null)
        {
            _metrics.RecordMalformed();
            Log.MalformedRecord(_logger, record.Partition, record.Offset, malformed);
        }

        if (state.WarmUpNext >= Volatile.Read(ref state.NextOffset) && state.WarmUpStart is { } start)
        {
            // Until the look-back reaches the head, resumes are served by read-back instead.
            state.WarmUpStart = null;
            state.Window.CoverFrom(start);
        }
    }

    private PreparedEvent? TryPrepare(BrokerRecord record, ArrayBufferWriter<byte> scratch, bool deduplicate, out string? malformed)
    {
        malformed = null;
        if (record.Body.Length > _replay.MaxEnvelopeBytes)
        {
            malformed = $"the body is {record.Body.Length} bytes, over Edge:Replay:MaxEnvelopeBytes ({_replay.MaxEnvelopeBytes})";
            return null;
        }

        if (!EnvelopeParser.TryParse(record.Body.Span, out var envelope, out var error))
        {
            malformed = error.ToString();
            return null;
        }

        var messageId = record.MessageId ?? envelope.Id;
        if (deduplicate && messageId is not null && !_deduplicator.FirstTime(messageId))
        {
            return null;
        }

        return SseFrameEncoder.Encode(envelope, _epoch, record, scratch);
    }

    private PartitionState GetPartition(int partition)
    {
        var partitions = _partitions;
        if ((uint)partition < (uint)partitions.Length)
        {
            return partitions[partition];
        }

        lock (_growGate)
        {
            partitions = _partitions;
            if (partition >= partitions.Length)
            {
                // A partition added to the log after open starts at offset 0.
                var larger = new PartitionState[partition + 1];
                partitions.CopyTo(larger, 0);
                for (var i = partitions.Length; i < larger.Length; i++)
                {
                    larger[i] = new PartitionState(0, new ReplayWindow(_replay, _timeProvider, 0));
                }

                _partitions = larger;
                partitions = larger;
            }

            return partitions[partition];
        }
    }

    /// <summary>
    /// Registers a new connection on its channels and sets its starting position to the live
    /// head of each partition it reads.
    /// </summary>
    /// <param name="transport">How the connection's bytes reach its client.</param>
    public SseConnection Connect(StreamDefinition stream, string? userId, string? sessionId, IReadOnlyCollection<string> channels, Transports.IConnectionTransport transport)
    {
        var connection = new SseConnection(
            Interlocked.Increment(ref _nextConnectionId),
            stream,
            userId,
            sessionId,
            channels,
            PartitionsOf(channels),
            _epochAscii,
            transport,
            _timeProvider);

        _connections[connection.Id] = connection;
        foreach (var channel in connection.AllChannels)
        {
            _index.Add(channel, connection);
        }

        Interlocked.MemoryBarrier();
        for (var i = 0; i < connection.Partitions.Length; i++)
        {
            connection.Offsets[i] = Volatile.Read(ref GetPartition(connection.Partitions[i]).NextOffset);
        }

        _metrics.ConnectionOpened();
        if (_draining)
        {
            connection.Close(CloseReason.Shutdown);
        }

        return connection;
    }

    /// <summary>The partitions the channels live on, ascending and each once; partition 0 when there is no channel.</summary>
    private int[] PartitionsOf(IReadOnlyCollection<string> channels)
    {
        var partitions = new int[Math.Max(channels.Count, 1)];
        var count = 0;
        foreach (var channel in channels)
        {
            var partition = _broker.GetPartition(channel);
            var at = Array.BinarySearch(partitions, 0, count, partition);
            if (at < 0)
            {
                at = ~at;
                Array.Copy(partitions, at, partitions, at + 1, count - at);
                partitions[at] = partition;
                count++;
            }
        }

        return count == 0 || count == partitions.Length ? partitions : partitions[..count];
    }

    /// <summary>Frees everything the connection held: index entries, registry entry, queue.</summary>
    public void Disconnect(SseConnection connection)
    {
        foreach (var channel in connection.AllChannels)
        {
            _index.Remove(channel, connection);
        }

        if (_connections.TryRemove(connection.Id, out _))
        {
            _metrics.ConnectionClosed();
        }
    }

    /// <summary>
    /// Works out what a resuming connection missed, from memory first and then from the
    /// broker, and moves the connection's positions back to the cursor so that those events
    /// (and nothing before them) get written. Returns the events and, when some cannot be
    /// recovered, the gap reason.
    /// </summary>
    public async Task<ReplayPlan> PlanReplayAsync(SseConnection connection, string cursorText, CancellationToken cancellationToken)
    {
        if (!EventCursor.TryParse(cursorText, out var cursor))
        {
            return new ReplayPlan([], "malformed-cursor");
        }

        if (!string.Equals(cursor.Epoch, _epoch, StringComparison.Ordinal))
        {
            return new ReplayPlan([], "epoch-changed");
        }

        var events = new List<PreparedEvent>();
        string? gap = null;
        for (var i = 0; i < connection.Partitions.Length; i++)
        {
            var partition = connection.Partitions[i];
            if (!cursor.TryGetOffset(partition, out var from))
            {
                continue;
            }

            var to = connection.Offsets[i];
            if (from > to)
            {
                // Another instance read further than this one: wait for this one to catch up;
                // what it then reads below the cursor is dropped as already delivered.
                if (await CatchUpAsync(GetPartition(partition), from, cancellationToken).ConfigureAwait(false))
                {
                    connection.Offsets[i] = from;
                }
                else
                {
                    gap ??= "cursor-ahead";
                }

                continue;
            }

            if (from == to)
            {
                continue;
            }

            var state = GetPartition(partition);
            if (state.Window.TryCollect(from, to, connection.Wants, events))
            {
                connection.Offsets[i] = from;
                continue;
            }

            if (!_replay.ReadFromBroker)
            {
                gap ??= "cursor-expired";
                continue;
            }

            if (await TryReadBackAsync(connection, partition, from, to, events, cancellationToken).ConfigureAwait(false))
            {
                connection.Offsets[i] = from;
            }
            else
            {
                gap ??= "cursor-expired";
            }
        }

        return new ReplayPlan(events, gap);
    }

    private async Task<bool> CatchUpAsync(PartitionState state, long offset, CancellationToken cancellationToken)
    {
        var deadline = _timeProvider.GetUtcNow() + _replay.CatchUpTimeout;
        while (Volatile.Read(ref state.NextOffset) < offset)
        {
            if (_timeProvider.GetUtcNow() >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), _timeProvider, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async Task<bool> TryReadBackAsync(SseConnection connection, int partition, long from, long to, List<PreparedEvent> into, CancellationToken cancellationToken)
    {
        await _brokerReads.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var earliest = await _broker.GetEarliestOffsetAsync(partition, cancellationToken).ConfigureAwait(false);
            if (from < earliest)
            {
                return false;
            }

            var scratch = new ArrayBufferWriter<byte>(1024);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var record in _broker.ReadAsync(partition, from, to, cancellationToken).ConfigureAwait(false))
            {
                var prepared = TryPrepare(record, scratch, deduplicate: false, out _);
                if (prepared is null || (prepared.MessageId is { } messageId && !seen.Add(messageId)))
                {
                    continue;
                }

                if (connection.Wants(prepared))
                {
                    into.Add(prepared);
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ReadBackFailed(_logger, _broker.Name, partition, from, ex);
            throw new BrokerUnavailableException("The broker could not serve the read-back of missed events.", ex);
        }
        finally
        {
            _brokerReads.Release();
        }
    }

    /// <summary>Sends a heartbeat to every connection that has been silent for its stream's interval.</summary>
    public void SendHeartbeats()
    {
        var now = _timeProvider.GetTimestamp();
        var frequency = _timeProvider.TimestampFrequency;
        foreach (var (_, connection) in _connections)
        {
            var interval = connection.Stream.HeartbeatInterval;
            if (interval > TimeSpan.Zero)
            {
                connection.HeartbeatIfIdle(now, (long)(interval.TotalSeconds * frequency));
            }
        }
    }

    /// <summary>Stops accepting streams and asks every open stream to close with a retry hint.</summary>
    public void BeginDrain()
    {
        _draining = true;
        Log.Draining(_logger, _connections.Count);
        foreach (var (_, connection) in _connections)
        {
            connection.Close(CloseReason.Shutdown);
        }
    }

    /// <summary>
    /// One of the workers that hand events to connections (one per core). A connection belongs
    /// to one shard by its id, so its events stay in order; the feed never waits for sockets.
    /// A shard reads the channel index after the feed published the event's position, which
    /// keeps the registration fence of <see cref="Ingest"/> intact.
    /// </summary>
    private sealed class DispatchShard
    {
        /// <summary>Events waiting for dispatch; the feed slows down (the broker keeps the rest) only past this.</summary>
        private const int Capacity = 65_536;

        private readonly EventHub _hub;
        private readonly int _index;
        private readonly int _count;
        private readonly System.Threading.Channels.Channel<PreparedEvent> _queue = System.Threading.Channels.Channel.CreateBounded<PreparedEvent>(
            new System.Threading.Channels.BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true, FullMode = System.Threading.Channels.BoundedChannelFullMode.Wait });

        public DispatchShard(EventHub hub, int index, int count)
        {
            _hub = hub;
            _index = index;
            _count = count;
        }

        public void Offer(PreparedEvent item)
        {
            var spin = default(SpinWait);
            while (!_queue.Writer.TryWrite(item))
            {
                if (_queue.Reader.Completion.IsCompleted)
                {
                    return;
                }

                spin.SpinOnce(sleep1Threshold: 10);
            }
        }

        public void Complete() => _queue.Writer.TryComplete();

        public async Task RunAsync()
        {
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    // Behind the feed, one send per event per connection costs more than it
                    // saves: queue instead, and each connection's writer sends its backlog at once.
                    Dispatch(item, sendInline: reader.Count == 0);
                }
            }
        }

        public void Dispatch(PreparedEvent item, bool sendInline = true)
        {
            var sent = 0;
            foreach (var connection in _hub._index.Get(item.Channel))
            {
                if (connection.Id % _count == _index && item.IsFor(connection.UserId, connection.SessionId) && connection.Enqueue(item, sendInline))
                {
                    sent++;
                }
            }

            if (sent > 0)
            {
                _hub._metrics.Delivered(sent);
            }
        }
    }

    internal sealed class PartitionState
    {
        public long NextOffset;

        public PartitionState(long nextOffset, ReplayWindow window)
        {
            NextOffset = nextOffset;
            Window = window;
        }

        public ReplayWindow Window { get; }

        /// <summary>The next look-back offset the window expects (feed thread only).</summary>
        public long WarmUpNext { get; set; }

        /// <summary>Where the look-back began, while it is still being read; null once complete or without one.</summary>
        public long? WarmUpStart { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.BrokerOpened, Level = LogLevel.Information, Message = "Opened the {Broker} log: epoch {Epoch}, {Partitions} partition(s)")]
        public static partial void BrokerOpened(ILogger logger, string broker, string epoch, int partitions);

        [LoggerMessage(EventId = EdgeEventIds.BrokerOpenFailed, Level = LogLevel.Warning, Message = "Could not open the {Broker} log; retrying in {DelayMs} ms")]
        public static partial void BrokerOpenFailed(ILogger logger, string broker, double delayMs, Exception exception);

        [LoggerMessage(EventId = EdgeEventIds.BrokerFeedFailed, Level = LogLevel.Error, Message = "The {Broker} feed failed; resubscribing in {DelayMs} ms")]
        public static partial void FeedFailed(ILogger logger, string broker, double delayMs, Exception exception);

        [LoggerMessage(EventId = EdgeEventIds.MalformedRecord, Level = LogLevel.Warning, Message = "Skipped the malformed record at partition {Partition} offset {Offset}: {Reason}")]
        public static partial void MalformedRecord(ILogger logger, int partition, long offset, string reason);

        [LoggerMessage(EventId = EdgeEventIds.DuplicateRecord, Level = LogLevel.Debug, Message = "Dropped the record at partition {Partition} offset {Offset}: its message id was already delivered")]
        public static partial void DuplicateRecord(ILogger logger, int partition, long offset);

        [LoggerMessage(EventId = EdgeEventIds.BrokerReadBackFailed, Level = LogLevel.Warning, Message = "Reading back partition {Partition} from offset {Offset} on {Broker} failed")]
        public static partial void ReadBackFailed(ILogger logger, string broker, int partition, long offset, Exception exception);

        [LoggerMessage(EventId = EdgeEventIds.HistoryLost, Level = LogLevel.Error, Message = "The {Broker} log lost its history; reopening for a new epoch and closing open streams so they reconnect")]
        public static partial void HistoryLost(ILogger logger, string broker, Exception exception);

        [LoggerMessage(EventId = EdgeEventIds.HubStopped, Level = LogLevel.Information, Message = "The event hub stopped reading")]
        public static partial void HubStopped(ILogger logger);

        [LoggerMessage(EventId = EdgeEventIds.Draining, Level = LogLevel.Information, Message = "Draining: closing {Connections} open stream(s) with a retry hint")]
        public static partial void Draining(ILogger logger, int connections);
    }
}

/// <summary>What a resuming connection gets before going live.</summary>
internal sealed record ReplayPlan(List<PreparedEvent> Events, string? GapReason);
