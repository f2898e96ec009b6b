using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Edge.Brokers.Cursors;
using Edge.Hub;

namespace Edge.Sse;

internal enum CloseReason
{
    None = 0,
    SlowConsumer = 1,
    Shutdown = 2,
}

/// <summary>
/// One open stream: its channels, the position it has reached in each partition it reads, and a
/// bounded queue between the hub's feed and this client's writer. The feed only ever tries to
/// enqueue; a full queue closes this connection, never delays the others.
/// </summary>
internal sealed class SseConnection
{
    private readonly Channel<PreparedEvent> _queue;
    private readonly PipeWriter _output;
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
        PipeWriter output,
        TimeProvider timeProvider)
    {
        Id = id;
        Stream = stream;
        UserId = userId;
        SessionId = sessionId;
        Channels = channels.Count <= 8 ? [.. channels] : null;
        ChannelSet = channels.Count > 8 ? new HashSet<string>(channels, StringComparer.Ordinal) : null;
        AllChannels = [.. channels];
        Partitions = partitions;
        Offsets = new long[partitions.Length];
        _epochAscii = epochAscii;
        _output = output;
        _timeProvider = timeProvider;
        _lastActivity = timeProvider.GetTimestamp();
        _queue = Channel.CreateBounded<PreparedEvent>(new BoundedChannelOptions(stream.Options.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
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

    private string[]? Channels { get; }

    private HashSet<string>? ChannelSet { get; }

    public string Cursor => new EventCursor(System.Text.Encoding.ASCII.GetString(_epochAscii), Partitions.Select((p, i) => new Brokers.LogPosition(p, Offsets[i]))).ToString();

    /// <summary>Whether an event belongs on this stream (channel and personal targeting).</summary>
    public bool Wants(PreparedEvent item)
    {
        if (!item.IsFor(UserId, SessionId))
        {
            return false;
        }

        if (Channels is not null)
        {
            foreach (var channel in Channels)
            {
                if (string.Equals(channel, item.Channel, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        return ChannelSet!.Contains(item.Channel);
    }

    /// <summary>Called by the feed. A full queue closes the connection as a slow consumer.</summary>
    public void Enqueue(PreparedEvent item)
    {
        if (!_queue.Writer.TryWrite(item))
        {
            Close(CloseReason.SlowConsumer);
        }
    }

    /// <summary>Queues a heartbeat when the stream has been silent for its interval.</summary>
    public void HeartbeatIfIdle(long now, long intervalTimestampTicks)
    {
        if (now - Volatile.Read(ref _lastActivity) >= intervalTimestampTicks)
        {
            _queue.Writer.TryWrite(Stream.Heartbeat);
        }
    }

    public void Close(CloseReason reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, (int)reason, (int)CloseReason.None) != (int)CloseReason.None)
        {
            return;
        }

        _queue.Writer.TryComplete();
        if (reason == CloseReason.SlowConsumer)
        {
            // A writer blocked on a client that does not read must not hold the connection open.
            _output.CancelPendingFlush();
        }
    }

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
        var span = _output.GetSpan(_epochAscii.Length + 8 + (Partitions.Length * 32));
        "id: "u8.CopyTo(span);
        var written = EventCursor.Write(span[4..], _epochAscii, Partitions, Offsets);
        span[4 + written] = (byte)'\n';
        span[5 + written] = (byte)'\n';
        _output.Advance(6 + written);
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
    /// Several queued events share one flush. Returns the events written.
    /// </summary>
    public async Task<long> PumpAsync(Action<int> delivered, CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        long total = 0;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (CloseReason == CloseReason.SlowConsumer)
            {
                break;
            }

            var count = 0;
            while (count < 4096 && reader.TryRead(out var item))
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
                delivered(count);
                total += count;
            }
        }

        return total;
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
