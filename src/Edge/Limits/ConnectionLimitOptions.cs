namespace Edge.Limits;

/// <summary>Connection limits of one edge instance (<c>Edge:Limits</c>). Zero means no limit.</summary>
public sealed class ConnectionLimitOptions
{
    /// <summary>Open streams on this instance. Over it: 503. Default 0 (no limit).</summary>
    public int MaxConnections { get; set; }

    /// <summary>Open streams of one user across all streams. Default 0 (no limit).</summary>
    public int MaxConnectionsPerUser { get; set; }

    /// <summary>Open streams of anonymous clients from one IP address. Default 0 (no limit).</summary>
    public int MaxConnectionsPerIp { get; set; }

    /// <summary>Seconds suggested in Retry-After (and the base of an Event-style <c>retry:</c>) when a limit refuses. Default 5.</summary>
    public int RetryAfterSeconds { get; set; } = 5;

    /// <summary>The <c>retry:</c> (ms) sent to a stream closed to make room for a newer one of the same user. Default 60,000.</summary>
    public int ReplacedRetryMilliseconds { get; set; } = 60_000;
}
