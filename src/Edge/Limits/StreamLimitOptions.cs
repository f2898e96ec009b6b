namespace Edge.Limits;

/// <summary>Per-stream connection limits (<c>Edge:Streams:{name}:Limits</c>).</summary>
public sealed class StreamLimitOptions
{
    /// <summary>Open streams of one user on this stream. Default 0 (no limit).</summary>
    public int MaxConnectionsPerUser { get; set; }

    /// <summary>
    /// What happens when a user is at a per-user limit (this stream's or <c>Edge:Limits:MaxConnectionsPerUser</c>):
    /// <c>Reject</c> the new stream (default) or <c>CloseOldest</c>.
    /// </summary>
    public LimitPolicy AtLimit { get; set; } = LimitPolicy.Reject;
}

/// <summary>The answer to a user at a connection limit.</summary>
public enum LimitPolicy
{
    /// <summary>Refuse the new stream (429 + Retry-After, or the stream's Event style).</summary>
    Reject = 0,

    /// <summary>Close the user's oldest stream with a final event saying why, and admit the new one.</summary>
    CloseOldest = 1,
}
