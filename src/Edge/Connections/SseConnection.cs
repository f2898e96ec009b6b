using System.Buffers;
using Edge.Brokers.Cursors;
using Edge.Diagnostics;
using Edge.Sse;
using Edge.Streams;
using Edge.Transports;

namespace Edge.Connections;

internal enum CloseReason
{
    None = 0,
    SlowConsumer = 1,
    Shutdown = 2,

    /// <summary>The credentials the stream was opened with expired.</summary>
    TokenExpired = 3,

    /// <summary>A newer stream of the same user took this one's slot (connection limit, CloseOldest).</summary>
    Replaced = 4,

    /// <summary>An <c>end-streams</c> control record named its user or session (logout, session expiry).</summary>
    Ended = 5,
}

/// <summary>
/// One open stream: its channels, the position it has reached in each partition it reads, and a
/// bounded queue between the hub's feed and this client's writer. The feed only ever tries to
/// enqueue; a full queue closes this connection, never delays the others.
/// </summary>
/// <remarks>
/// A stream whose transport can send without waiting skips the queue while it is idle: the
/// dispatcher claims the queue, writes the frame and sends it with one non-blocking send, and only
/// what the transport does not take at once is left for the pump to flush.
/// </remarks>
internal sealed class SseConnection
{
    private readonly IConnectionTransport _transport;
    private readonly ConnectionQueue _queue;
    private readonly byte[] _epochAscii;
    private readonly TimeProvider _timeProvider;
    private int _closeReason;
    private long _lastActivity;

    public SseConnection(
        long id,
        StreamDefinition stream,
        string? userId,
        string? sessionId,
        IReadOnlyCollection<string> channels,
        int[] partitions,
        byte[] epochAscii,
        IConnectionTransport transport,
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
        _transport = transport;
        _queue = new ConnectionQueue(stream.Options.QueueCapacity);
        _timeProvider = timeProvider;
        _lastActivity = timeProvider.GetTimestamp();
        OpenedTimestamp = _lastActivity;
    }

    /// <summary>When the connection was registered, in <see cref="TimeProvider"/> timestamp ticks.</summary>
    public long OpenedTimestamp { get; }

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
        switch (_queue.TryEnqueue(item, sendInline && _transport.CanSendInline))
        {
            case EnqueueOutcome.Claimed:
                return SendInline(item);
            case EnqueueOutcome.Full:
                Close(CloseReason.SlowConsumer);
                return false;
            default:
                return false;
        }
    }

    /// <summary>Queues a heartbeat when the stream has been silent for its interval.</summary>
    public void HeartbeatIfIdle(long now, long intervalTimestampTicks)
    {
        if (now - Volatile.Read(ref _lastActivity) >= intervalTimestampTicks)
        {
            // A full queue is left to the next event to judge: a heartbeat never closes a stream.
            if (_queue.TryEnqueue(Stream.Heartbeat, _transport.CanSendInline) == EnqueueOutcome.Claimed)
            {
                SendInline(Stream.Heartbeat);
            }
        }
    }

    public void Close(CloseReason reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, (int)reason, (int)CloseReason.None) != (int)CloseReason.None)
        {
            return;
        }

        _queue.Complete();
        if (reason == CloseReason.SlowConsumer)
        {
            // A writer blocked on a client that does not read must not hold the connection open.
            _transport.CancelPendingFlush();
        }
    }

    /// <summary>Writes this connection's cursor as an <c>id:</c> line without data, without flushing.</summary>
    public void WriteCursor() => WriteCursorLine();

    /// <summary>Writes raw bytes (hello, signals) without flushing.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes) => _transport.Output.Write(bytes);

    /// <summary>
    /// Writes an event unless this connection has already written it (offsets are the
    /// duplicate check that lets replay and the live queue overlap safely).
    /// </summary>
    public bool Write(PreparedEvent item)
    {
        if (item.Kind == QueueItemKind.Control)
        {
            _transport.Output.Write(item.Frame);
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
            _transport.Output.Write(item.Frame);
            return true;
        }

        _transport.Output.Write(item.Frame.AsSpan(0, item.BodyLength));
        WriteCursorLine();
        return true;
    }

    public async ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
    {
        var flushed = await _transport.FlushAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _lastActivity, _timeProvider.GetTimestamp());
        return flushed;
    }

    /// <summary>
    /// Writes queued events until the client leaves, the queue overflows or the edge shuts down.
    /// Several queued events share one flush.
    /// </summary>
    public async Task PumpAsync(EdgeMetrics metrics, CancellationToken cancellationToken)
    {
        using var wake = cancellationToken.UnsafeRegister(static state => ((ConnectionQueue)state!).Complete(), _queue);
        while (await _queue.WaitToReadAsync().ConfigureAwait(false))
        {
            if (CloseReason == CloseReason.SlowConsumer || cancellationToken.IsCancellationRequested)
            {
                break;
            }

            var count = 0;
            while (count < 4096 && _queue.TryDequeue(out var item))
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

    /// <summary>
    /// Writes and sends one item while holding the queue's claim (the pump is parked, so the
    /// writer is free). What the transport does not take stays in it, and the pump is woken to
    /// flush it (and anything queued meanwhile). True when an event was sent.
    /// </summary>
    private bool SendInline(PreparedEvent item)
    {
        var delivered = false;
        var failed = false;
        var pending = false;
        try
        {
            delivered = Write(item) && item.Kind == QueueItemKind.Event;
            pending = !_transport.TrySend();
            Volatile.Write(ref _lastActivity, _timeProvider.GetTimestamp());
        }
        catch (IOException)
        {
            // The client is gone: the pump ends and the stream closes as usual.
            failed = true;
        }

        _queue.ReleaseClaim(pending, failed);
        return delivered && !failed;
    }

    private void WriteCursorLine()
    {
        var output = _transport.Output;
        var span = output.GetSpan(_epochAscii.Length + 8 + (Partitions.Length * 32));
        "id: "u8.CopyTo(span);
        var written = EventCursor.Write(span[4..], _epochAscii, Partitions, Offsets);
        span[4 + written] = (byte)'\n';
        span[5 + written] = (byte)'\n';
        output.Advance(6 + written);
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
