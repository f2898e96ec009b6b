using System.Threading.RateLimiting;
using Edge.Limits;
using Edge.RateLimiting;
using Edge.Streams;
using Edge.Subscribing;

namespace Edge.Auth;

/// <summary>
/// Decides whether a stream request may open: the connect rate limit, the auth step, the
/// identity and channel checks, and the connection limits, in that order. The result holds
/// everything the open stream keeps (limit slot, rate-limit permit, expiry timer) until disposed.
/// </summary>
internal sealed partial class StreamAccess(StreamAuthenticator authenticator, ConnectionLimiter limits, EdgeRateLimiters rateLimiters, Diagnostics.EdgeMetrics metrics, TimeProvider timeProvider, ILogger<StreamAccess> logger)
{
    public int ReplacedRetryMilliseconds => limits.Options.ReplacedRetryMilliseconds;

    public async Task<StreamAccessGrant> AdmitAsync(HttpContext context, StreamDefinition stream)
    {
        var grant = new StreamAccessGrant(timeProvider);
        try
        {
            var policyName = stream.Options.RateLimitPolicy;
            RateLimitPolicyOptions? policy = null;
            if (policyName is not null && rateLimiters.TryGetPolicy(policyName, out policy) && policy.PartitionBy != RateLimitPartitionBy.User)
            {
                // Before authentication, so a flood never reaches the auth step.
                if (TakePermit(context, stream, policyName, policy, null, grant) is { } limited)
                {
                    return grant.Refuse(limited);
                }
            }

            var auth = stream.Options.Auth;
            var outcome = await authenticator.AuthenticateAsync(context, "stream:" + stream.Name, auth, context.RequestAborted).ConfigureAwait(false);
            if (!outcome.Succeeded)
            {
                Log.AuthRefused(logger, stream.Name, outcome.Status, outcome.Reason!, context.Connection.RemoteIpAddress?.ToString());
                var authRefusal = outcome.Status == StatusCodes.Status503ServiceUnavailable
                    ? StreamRefusal.Transient(outcome.Status, outcome.Reason!, outcome.Detail!, TimeSpan.FromSeconds(2))
                    : StreamRefusal.Permanent(outcome.Status, outcome.Reason!, outcome.Detail!, outcome.Status == StatusCodes.Status401Unauthorized ? outcome.WwwAuthenticate ?? "Bearer" : null);
                return grant.Refuse(authRefusal with { Logged = true });
            }

            var identity = outcome.Identity!;
            var admission = StreamAdmissionResolver.Resolve(context, stream, identity, authenticator.RoleMap("stream:" + stream.Name, auth), out var refusal);
            if (admission is null)
            {
                Log.ChannelRefused(logger, stream.Name, refusal!.Status, refusal.Reason, identity.UserId);
                return grant.Refuse(refusal with { Logged = true });
            }

            if (policy is not null && policy.PartitionBy == RateLimitPartitionBy.User)
            {
                if (TakePermit(context, stream, policyName!, policy, admission.UserId, grant) is { } limited)
                {
                    return grant.Refuse(limited);
                }
            }

            var ip = context.Connection.RemoteIpAddress?.ToString();
            var decision = limits.TryAcquire(stream.Name, admission.UserId, ip, stream.Options.Limits.MaxConnectionsPerUser, stream.Options.Limits.AtLimit, out var lease);
            if (decision != LimitDecision.Admitted)
            {
                var retryAfter = TimeSpan.FromSeconds(Math.Max(1, limits.Options.RetryAfterSeconds));
                metrics.ConnectionLimitHit(decision switch
                {
                    LimitDecision.GlobalLimit => "instance",
                    LimitDecision.IpLimit => "ip",
                    LimitDecision.UserStreamLimit => "user_stream",
                    _ => "user",
                });
                var (status, reason, detail) = decision switch
                {
                    LimitDecision.GlobalLimit => (StatusCodes.Status503ServiceUnavailable, "edge-at-capacity", "This edge instance holds as many streams as it may; try again later."),
                    LimitDecision.IpLimit => (StatusCodes.Status429TooManyRequests, "ip-connection-limit", "Too many open streams from your address."),
                    LimitDecision.UserStreamLimit => (StatusCodes.Status429TooManyRequests, "user-stream-connection-limit", "You have as many streams open on this stream as allowed; close one first."),
                    _ => (StatusCodes.Status429TooManyRequests, "user-connection-limit", "You have as many streams open as allowed; close one first."),
                };
                Log.LimitRefused(logger, stream.Name, reason, admission.UserId, ip);
                return grant.Refuse(StreamRefusal.Transient(status, reason, detail, retryAfter) with { Logged = true });
            }

            grant.Admit(admission, identity, lease!, auth.CloseAtExpiry);
            return grant;
        }
        catch
        {
            grant.Dispose();
            throw;
        }
    }

    private StreamRefusal? TakePermit(HttpContext context, StreamDefinition stream, string policyName, RateLimitPolicyOptions policy, string? userId, StreamAccessGrant grant)
    {
        var partition = EdgeRateLimiters.PartitionOf(policy.PartitionBy, context, userId);
        if (policy.PartitionBy == RateLimitPartitionBy.Route)
        {
            partition = "stream:" + stream.Name;
        }

        var lease = rateLimiters.Acquire(policyName, partition);
        if (lease is null)
        {
            return null;
        }

        if (lease.IsAcquired)
        {
            grant.HoldPermit(lease);
            return null;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
        lease.Dispose();
        Log.RateLimited(logger, stream.Name, policyName, context.Connection.RemoteIpAddress?.ToString());
        return StreamRefusal.Transient(StatusCodes.Status429TooManyRequests, "rate-limited", $"Too many connection attempts (policy '{policyName}'); try again later.", retryAfter) with { Logged = true };
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.AuthRefused, Level = LogLevel.Information, Message = "Stream request on {Stream} from {RemoteIp} failed authentication with {Status} ({Reason})")]
        public static partial void AuthRefused(ILogger logger, string stream, int status, string reason, string? remoteIp);

        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.ChannelRefused, Level = LogLevel.Information, Message = "Stream request on {Stream} by user {UserId} refused with {Status} ({Reason})")]
        public static partial void ChannelRefused(ILogger logger, string stream, int status, string reason, string? userId);

        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.ConnectionLimitRefused, Level = LogLevel.Information, Message = "Stream request on {Stream} by user {UserId} from {RemoteIp} refused: {Reason}")]
        public static partial void LimitRefused(ILogger logger, string stream, string reason, string? userId, string? remoteIp);

        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.RateLimited, Level = LogLevel.Information, Message = "Stream request on {Stream} from {RemoteIp} refused with 429 (rate-limited) by policy {Policy}")]
        public static partial void RateLimited(ILogger logger, string stream, string policy, string? remoteIp);
    }
}
