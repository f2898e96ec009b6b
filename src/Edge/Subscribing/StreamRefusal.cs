namespace Edge.Subscribing;

/// <summary>
/// Why a stream request is refused. Permanent refusals (400, 401, 403) always use their status
/// code (unless the stream is in SeedStyle); transient ones (429, 503) follow the stream's
/// <c>RefusalStyle</c>.
/// </summary>
internal sealed record StreamRefusal(int Status, string Reason, string Detail, TimeSpan? RetryAfter = null, string? WwwAuthenticate = null)
{
    /// <summary>The <c>reason</c> tag of a refused <c>edge.streams.connects</c>.</summary>
    public const string BadRequestReason = "bad_request";

    /// <summary>True when whoever decided the refusal already logged it with its own event id (auth, channel, limit, rate), so it is logged once.</summary>
    public bool Logged { get; init; }

    public bool IsTransient => Status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable;

    /// <summary>
    /// The refusal's kind, as the metrics tag it: <c>auth</c>, <c>channel</c>, <c>limit</c>, <c>rate</c>,
    /// <c>bad_request</c>, <c>draining</c> or <c>broker_unavailable</c> (a bounded set, unlike <see cref="Reason"/>).
    /// </summary>
    public string MetricReason => Reason switch
    {
        "rate-limited" => "rate",
        "edge-at-capacity" or "ip-connection-limit" or "user-connection-limit" or "user-stream-connection-limit" => "limit",
        "draining" => "draining",
        "broker-unavailable" => "broker_unavailable",
        "invalid-identity" or "invalid-channel" or "too-many-channels" or "wildcard-channel" => BadRequestReason,
        _ when Reason.StartsWith("channel-", StringComparison.Ordinal) => "channel",
        _ => "auth",
    };

    public static StreamRefusal Permanent(int status, string reason, string detail, string? wwwAuthenticate = null) => new(status, reason, detail, null, wwwAuthenticate);

    public static StreamRefusal Transient(int status, string reason, string detail, TimeSpan retryAfter) => new(status, reason, detail, retryAfter);
}
