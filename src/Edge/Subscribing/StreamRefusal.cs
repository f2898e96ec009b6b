namespace Edge.Subscribing;

/// <summary>
/// Why a stream request is refused. Permanent refusals (400, 401, 403) always use their status
/// code (unless the stream is in SeedStyle); transient ones (429, 503) follow the stream's
/// <c>RefusalStyle</c>.
/// </summary>
internal sealed record StreamRefusal(int Status, string Reason, string Detail, TimeSpan? RetryAfter = null, string? WwwAuthenticate = null)
{
    public bool IsTransient => Status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable;

    public static StreamRefusal Permanent(int status, string reason, string detail, string? wwwAuthenticate = null) => new(status, reason, detail, null, wwwAuthenticate);

    public static StreamRefusal Transient(int status, string reason, string detail, TimeSpan retryAfter) => new(status, reason, detail, retryAfter);
}
