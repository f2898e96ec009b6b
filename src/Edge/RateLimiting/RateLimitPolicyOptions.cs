namespace Edge.RateLimiting;

/// <summary>One rate-limit policy (<c>Edge:RateLimiting:Policies:{name}</c>).</summary>
public sealed class RateLimitPolicyOptions
{
    /// <summary><c>FixedWindow</c> (default), <c>SlidingWindow</c>, <c>TokenBucket</c> or <c>Concurrency</c>.</summary>
    public RateLimitKind Kind { get; set; } = RateLimitKind.FixedWindow;

    /// <summary>What a separate limit is kept for: <c>Ip</c> (default), <c>User</c>, <c>ApiKey</c> or <c>Route</c>.</summary>
    public RateLimitPartitionBy PartitionBy { get; set; } = RateLimitPartitionBy.Ip;

    /// <summary>Requests per window (FixedWindow, SlidingWindow) or at once (Concurrency). Default 10.</summary>
    public int PermitLimit { get; set; } = 10;

    /// <summary>The window (FixedWindow, SlidingWindow). Default 1 s.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Segments of a sliding window. Default 4.</summary>
    public int SegmentsPerWindow { get; set; } = 4;

    /// <summary>Bucket size (TokenBucket). Default 10.</summary>
    public int TokenLimit { get; set; } = 10;

    /// <summary>Tokens added each period (TokenBucket). Default 1.</summary>
    public int TokensPerPeriod { get; set; } = 1;

    /// <summary>The refill period (TokenBucket). Default 1 s.</summary>
    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests that wait for a permit instead of being refused (not for streams, which never wait). Default 0.</summary>
    public int QueueLimit { get; set; }
}

public enum RateLimitKind
{
    FixedWindow = 0,
    SlidingWindow = 1,
    TokenBucket = 2,
    Concurrency = 3,
}

public enum RateLimitPartitionBy
{
    /// <summary>The client's IP address.</summary>
    Ip = 0,

    /// <summary>The authenticated user (the IP for anonymous clients).</summary>
    User = 1,

    /// <summary>The presented API key or bearer credential (hashed; the IP without one).</summary>
    ApiKey = 2,

    /// <summary>The route or stream: one limit shared by every client.</summary>
    Route = 3,
}
