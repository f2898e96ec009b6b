using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;
using Edge.Brokers.Cursors;
using Edge.Diagnostics;
using Edge.Hub;
using Edge.Sse.Direct;

namespace Edge.Sse;

internal enum CloseReason
{
    None = 0,
    SlowConsumer = 1,
    Shutdown = 2,

    /// <summary>The credentials the stream was opened with expired.</summary>
    TokenExpired = 3,

    /// <summary>A newer stream of the same user took this one's slot (connection limit, CloseOldest).</summary>
    Replaced = 4,
}

/// <summary>
/// One open stream: its channels, the position it has reached in each partition it reads, and a
/// bounded queue between the hub's feed and this client's writer. The feed only ever tries to
/// enqueue; a full queue closes this connection, never delays the others.
/// </summary>
/// <remarks>
/// A stream that owns its socket (served straight off the connection) skips the queue while it
/// is idle: the dispatcher writes the frame and sends it with one non-blocking <c>send</c>, and
/// only what the socket does not take at once is left for the pump to flush. Whoever writes holds the claim
/// (<c>_inline</c>, or the pump while not parked), so the two never interleave.
/// </remarks>
internal sealed class SseConnection : IValueTaskSource<bool>
{
    private const int InitialQueueSize = 4;

    private readonly Lock _gate = new();
    private readonly int _capacity;
    private readonly PipeWriter _output;
    private readonly SocketBodyWriter? _direct;
    private readonly byte[] _epochAscii;
    private readonly TimeProvider _timeProvider;
    private int _closeReason;
    private long _lastActivity;

    // The queue between the feed and this connection's writer: a ring that grows on demand up
    // to the capacity and is dropped when drained, and one reusable waiter (single reader).
    private PreparedEvent[]? _ring;
    private int _head;
    private int _count;
    private bool _completed;
    private bool _parked;
    private bool _inline;
    private bool _pendingFlush;
    private ManualResetValueTaskSourceCore<bool> _signal = new() { RunContinuationsAsynchronously = true };

    public SseConnection(
        long id,
        StreamDefinition stream,
        string? userId,
        string? sessionId,
        IReadOnlyCollection<string> channels,
        int[] partitions,
        byte[] epochAscii,
        PipeWriter output,
        SocketBodyWriter? direct,
        TimeProvider timeProvider)
    {
        Id = id;
        Stream = stream;
        UserId = userId;
        SessionId = sessionId;
        AllChannels = [.. channels];
        _channelSet = channels.Count > 8 ? new HashSet<string>(channels, StringComparer.Ordinal) : null;
        Partitions = partitions;
        Offsets = new long[partitions.Length];
        _epochAscii = epochAscii;
        _output = output;
        _direct = direct;
        _timeProvider = timeProvider;
        _lastActivity = timeProvider.GetTimestamp();
        _capacity = stream.Options.QueueCapacity;
    }

    public long Id { get; }

    public StreamDefinition Stream { get; }

    public string? UserId { get; }

    public string? SessionId { get; }

    public string[] AllChannels { get; }

    /// <summary>The partitions this connection reads, ascending.</summary>
    public int[] Partitions { get; }

    /// <summary>Per partition (same index as <see cref="Partitions"/>), the next offset this connection will write.</summary>
    public long[] Offsets { get; }

    public CloseReason CloseReason => (CloseReason)Volatile.Read(ref _closeReason);

    /// <summary>Only for connections with many channels; a short array is scanned instead.</summary>
    private readonly HashSet<string>? _channelSet;

    public string Cursor => new EventCursor(System.Text.Encoding.ASCII.GetString(_epochAscii), Partitions.Select((p, i) => new Brokers.LogPosition(p, Offsets[i]))).ToString();

    /// <summary>Whether an event belongs on this stream (channel and personal targeting).</summary>
    public bool Wants(PreparedEvent item)
    {
        if (!item.IsFor(UserId, SessionId))
        {
            return false;
        }

        if (_channelSet is null)
        {
            foreach (var channel in AllChannels)
            {
                if (string.Equals(channel, item.Channel, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        return _channelSet.Contains(item.Channel);
    }

    /// <summary>
    /// Called by the feed. A full queue closes the connection as a slow consumer. Returns true
    /// when the event was sent at once (the pump counts the ones it writes).
    /// </summary>
    /// <param name="sendInline">False queues the event even when the connection is idle (the caller is behind and prefers the writer's batching).</param>
    public bool Enqueue(PreparedEvent item, bool sendInline = true)
    {
        var outcome = TryEnqueue(item, sendInline);
        if (outcome == EnqueueOutcome.Full)
        {
            Close(CloseReason.SlowConsumer);
        }

        return outcome == EnqueueOutcome.Sent;
    }

    /// <summary>Queues a heartbeat when the stream has been silent for its interval.</summary>
    public void HeartbeatIfIdle(long now, long intervalTimestampTicks)
    {
        if (now - Volatile.Read(ref _lastActivity) >= intervalTimestampTicks)
        {
            TryEnqueue(Stream.Heartbeat, sendInline: true);
        }
    }

    public void Close(CloseReason reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, (int)reason, (int)CloseReason.None) != (int)CloseReason.None)
        {
            return;
        }

        CompleteQueue();
        if (reason == CloseReason.SlowConsumer)
        {
            // A writer blocked on a client that does not read must not hold the connection open.
            _output.CancelPendingFlush();
        }
    }

    /// <summary>Writes this connection's cursor as an <c>id:</c> line without data, without flushing.</summary>
    public void WriteCursor() => WriteCursorLine();

    /// <summary>Writes raw bytes (hello, signals) without flushing.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes) => _output.Write(bytes);

    /// <summary>
    /// Writes an event unless this connection has already written it (offsets are the
    /// duplicate check that lets replay and the live queue overlap safely).
    /// </summary>
    public bool Write(PreparedEvent item)
    {
        if (item.Kind == QueueItemKind.Control)
        {
            _output.Write(item.Frame);
            return true;
        }

        var slot = SlotOf(item.Partition);
        if (slot < 0 || item.Offset < Offsets[slot])
        {
            return false;
        }

        Offsets[slot] = item.Offset + 1;
        if (Partitions.Length == 1)
        {
            _output.Write(item.Frame);
            return true;
        }

        _output.Write(item.Frame.AsSpan(0, item.BodyLength));
        WriteCursorLine();
        return true;
    }

    public async ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
    {
        var result = await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _lastActivity, _timeProvider.GetTimestamp());
        return !result.IsCanceled && !result.IsCompleted;
    }

    /// <summary>
    /// Writes queued events until the client leaves, the queue overflows or the edge shuts down.
    /// Several queued events share one flush.
    /// </summary>
    public async Task PumpAsync(EdgeMetrics metrics, CancellationToken cancellationToken)
    {
        using var wake = cancellationToken.UnsafeRegister(static state => ((SseConnection)state!).CompleteQueue(), this);
        while (await WaitToReadAsync().ConfigureAwait(false))
        {
            if (CloseReason == CloseReason.SlowConsumer || cancellationToken.IsCancellationRequested)
            {
                break;
            }

            var count = 0;
            while (count < 4096 && TryDequeue(out var item))
            {
                if (Write(item) && item.Kind == QueueItemKind.Event)
                {
                    count++;
                }
            }

            if (!await FlushAsync(cancellationToken).ConfigureAwait(false))
            {
                break;
            }

            if (count > 0)
            {
                metrics.Delivered(count);
            }
        }
    }

    private EnqueueOutcome TryEnqueue(PreparedEvent item, bool sendInline)
    {
        bool wake, sendNow;
        lock (_gate)
        {
            if (_completed)
            {
                return EnqueueOutcome.Queued;
            }

            sendNow = sendInline && _direct is not null && _parked && _count == 0 && !_inline && !_pendingFlush;
            if (sendNow)
            {
                _inline = true;
                wake = false;
            }
            else
            {
                if (_count == _capacity)
                {
                    return EnqueueOutcome.Full;
                }

                var ring = _ring;
                if (ring is null || _count == ring.Length)
                {
                    ring = Grow(ring);
                }

                ring[(_head + _count) % ring.Length] = item;
                _count++;
                wake = _parked && !_inline;
                if (wake)
                {
                    _parked = false;
                }
            }
        }

        if (sendNow)
        {
            return SendInline(item);
        }

        if (wake)
        {
            _signal.SetResult(true);
        }

        return EnqueueOutcome.Queued;
    }

    /// <summary>
    /// Writes and sends one item while holding the inline claim (the pump is parked, so the
    /// writer is free). What the socket does not take stays in the writer, and the pump is woken
    /// to flush it (and anything queued meanwhile).
    /// </summary>
    private EnqueueOutcome SendInline(PreparedEvent item)
    {
        var delivered = false;
        var failed = false;
        var pending = false;
        try
        {
            delivered = Write(item) && item.Kind == QueueItemKind.Event;
            pending = !_direct!.TrySend();
            Volatile.Write(ref _lastActivity, _timeProvider.GetTimestamp());
        }
        catch (IOException)
        {
            failed = true;
        }

        bool wake, hasItems;
        lock (_gate)
        {
            _inline = false;
            _pendingFlush |= pending;
            if (failed)
            {
                // The client is gone: the pump ends and the stream closes as usual.
                _completed = true;
            }

            hasItems = _count > 0 || _pendingFlush;
            wake = _parked && (hasItems || _completed);
            if (wake)
            {
                _parked = false;
            }
        }

        if (wake)
        {
            _signal.SetResult(hasItems && !failed);
        }

        return delivered && !failed ? EnqueueOutcome.Sent : EnqueueOutcome.Queued;
    }

    private void WriteCursorLine()
    {
        var span = _output.GetSpan(_epochAscii.Length + 8 + (Partitions.Length * 32));
        "id: "u8.CopyTo(span);
        var written = EventCursor.Write(span[4..], _epochAscii, Partitions, Offsets);
        span[4 + written] = (byte)'\n';
        span[5 + written] = (byte)'\n';
        _output.Advance(6 + written);
    }

    private PreparedEvent[] Grow(PreparedEvent[]? ring)
    {
        var larger = new PreparedEvent[ring is null ? Math.Min(InitialQueueSize, _capacity) : Math.Min(ring.Length * 2, _capacity)];
        for (var i = 0; i < _count; i++)
        {
            larger[i] = ring![(_head + i) % ring.Length];
        }

        _ring = larger;
        _head = 0;
        return larger;
    }

    private bool TryDequeue(out PreparedEvent item)
    {
        lock (_gate)
        {
            if (_count == 0)
            {
                item = null!;
                return false;
            }

            var ring = _ring!;
            item = ring[_head];
            ring[_head] = null!;
            _head = (_head + 1) % ring.Length;
            if (--_count == 0)
            {
                // An idle connection keeps no buffer; a burst's large ring is not kept either.
                _ring = ring.Length > InitialQueueSize ? null : ring;
                _head = 0;
            }

            return true;
        }
    }

    /// <summary>True when items are queued; false once the queue is completed and drained.</summary>
    private ValueTask<bool> WaitToReadAsync()
    {
        lock (_gate)
        {
            if (_count > 0 || _pendingFlush)
            {
                _pendingFlush = false;
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _signal.Reset();
            _parked = true;
            return new ValueTask<bool>(this, _signal.Version);
        }
    }

    private void CompleteQueue()
    {
        bool wake, hasItems;
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;

            // While an inline send holds the claim, it wakes the pump when it is done.
            wake = _parked && !_inline;
            hasItems = _count > 0 || _pendingFlush;
            if (wake)
            {
                _parked = false;
            }
        }

        if (wake)
        {
            _signal.SetResult(hasItems);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _signal.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _signal.OnCompleted(continuation, state, token, flags);

    private enum EnqueueOutcome
    {
        Queued,
        Sent,
        Full,
    }

    private int SlotOf(int partition)
    {
        var partitions = Partitions;
        if (partitions.Length == 1)
        {
            return partitions[0] == partition ? 0 : -1;
        }

        return Array.BinarySearch(partitions, partition) is var index and >= 0 ? index : -1;
    }
}
