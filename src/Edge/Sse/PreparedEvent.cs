namespace Edge.Sse;

internal enum QueueItemKind : byte
{
    /// <summary>An event from the log; its <c>id:</c> depends on the connection.</summary>
    Event,

    /// <summary>A fixed frame written as is (a heartbeat).</summary>
    Control,
}

/// <summary>
/// An event encoded once for every recipient. <see cref="Frame"/> holds the <c>event:</c>,
/// <c>retry:</c> and <c>data:</c> lines (<see cref="BodyLength"/> bytes), followed by the
/// <c>id:</c> line and the blank line for a connection that reads only this event's partition,
/// so most connections write the frame whole; others write the body and their own cursor.
/// </summary>
internal sealed class PreparedEvent
{
    public PreparedEvent(int partition, long offset, string channel, string? userId, string? sessionId, string? messageId, long timestamp, byte[] frame, int bodyLength)
    {
        MessageId = messageId;
        Kind = QueueItemKind.Event;
        Partition = partition;
        Offset = offset;
        Channel = channel;
        UserId = userId;
        SessionId = sessionId;
        Timestamp = timestamp;
        Frame = frame;
        BodyLength = bodyLength;
    }

    private PreparedEvent(byte[] frame)
    {
        Kind = QueueItemKind.Control;
        Partition = -1;
        Offset = -1;
        Channel = string.Empty;
        Frame = frame;
        BodyLength = frame.Length;
    }

    public QueueItemKind Kind { get; }

    public int Partition { get; }

    public long Offset { get; }

    public string Channel { get; }

    /// <summary>When set, only this user's connections receive the event.</summary>
    public string? UserId { get; }

    /// <summary>When set, only this session's connections receive the event.</summary>
    public string? SessionId { get; }

    /// <summary>The message id duplicates are recognised by, when the publisher gave one.</summary>
    public string? MessageId { get; }

    /// <summary>When the broker appended it, in <see cref="TimeProvider"/> UTC ticks.</summary>
    public long Timestamp { get; }

    public byte[] Frame { get; }

    public int BodyLength { get; }

    public static PreparedEvent Control(byte[] frame) => new(frame);

    public bool IsFor(string? userId, string? sessionId) =>
        (UserId is null || string.Equals(UserId, userId, StringComparison.Ordinal))
        && (SessionId is null || string.Equals(SessionId, sessionId, StringComparison.Ordinal));
}
