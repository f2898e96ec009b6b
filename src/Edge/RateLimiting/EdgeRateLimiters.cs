using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Edge.RateLimiting;

/// <summary>
/// The configured policies as limiters. Rebuilt when the configuration changes (an invalid
/// change is logged and the last good policies stay). Streams acquire here directly (after
/// authentication, so they can partition by user); the publish API and YARP routes go through
/// ASP.NET Core's rate-limiting middleware, whose partitions carry the configuration generation
/// so a reload takes effect at once.
/// </summary>
internal sealed partial class EdgeRateLimiters : IDisposable
{
    private readonly ILogger<EdgeRateLimiters> _logger;
    private readonly IDisposable? _subscription;
    private volatile State _state;

    public EdgeRateLimiters(IOptionsMonitor<EdgeRateLimitingOptions> options, ILogger<EdgeRateLimiters> logger)
    {
        _logger = logger;
        _state = Build(options.CurrentValue, 0);
        _subscription = options.OnChange(Reload);
    }

    public int Generation => _state.Generation;

    public bool TryGetPolicy(string name, out RateLimitPolicyOptions policy) => _state.Policies.TryGetValue(name, out policy!);

    /// <summary>Takes a permit for one stream connect; a Concurrency permit is held until the lease is disposed.</summary>
    public RateLimitLease? Acquire(string policyName, string partition)
    {
        var state = _state;
        return state.Limiters.TryGetValue(policyName, out var limiter) ? limiter.AttemptAcquire(partition) : null;
    }

    /// <summary>The partition of a request for the middleware (publish API, YARP routes).</summary>
    public RateLimitPartition<string> GetPartition(string policyName, HttpContext context)
    {
        var state = _state;
        if (!state.Policies.TryGetValue(policyName, out var policy))
        {
            return RateLimitPartition.GetNoLimiter("none");
        }

        var key = state.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture) + "|" + PartitionOf(policy.PartitionBy, context, userId: context.User.Identity?.Name);
        return RateLimitPartition.Get(key, _ => CreateLimiter(policy, forRequests: true));
    }

    /// <summary>The partition value of a request: its IP, user, API key hash or route.</summary>
    public static string PartitionOf(RateLimitPartitionBy by, HttpContext context, string? userId)
    {
        var ip = "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        switch (by)
        {
            case RateLimitPartitionBy.User:
                return userId is null ? ip : "user:" + userId;
            case RateLimitPartitionBy.ApiKey:
                var presented = context.Request.Headers.Authorization.ToString();
                if (presented.Length == 0)
                {
                    presented = context.Request.Headers["X-Edge-Key"].ToString();
                }

                return presented.Length == 0 ? ip : "key:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), 0, 16);
            case RateLimitPartitionBy.Route:
                return "route:" + (context.GetEndpoint()?.DisplayName ?? context.Request.Path.ToString());
            default:
                return ip;
        }
    }

    public static RateLimiter CreateLimiter(RateLimitPolicyOptions policy, bool forRequests)
    {
        var queue = forRequests ? policy.QueueLimit : 0;
        return policy.Kind switch
        {
            RateLimitKind.SlidingWindow => new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
            {
                PermitLimit = policy.PermitLimit,
                Window = policy.Window,
                SegmentsPerWindow = policy.SegmentsPerWindow,
                QueueLimit = queue,
                AutoReplenishment = true,
            }),
            RateLimitKind.TokenBucket => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = policy.TokenLimit,
                TokensPerPeriod = policy.TokensPerPeriod,
                ReplenishmentPeriod = policy.ReplenishmentPeriod,
                QueueLimit = queue,
                AutoReplenishment = true,
            }),
            RateLimitKind.Concurrency => new ConcurrencyLimiter(new ConcurrencyLimiterOptions
            {
                PermitLimit = policy.PermitLimit,
                QueueLimit = queue,
            }),
            _ => new FixedWindowRateLimiter(new FixedWindowRateLimiterOptions
            {
                PermitLimit = policy.PermitLimit,
                Window = policy.Window,
                QueueLimit = queue,
                AutoReplenishment = true,
            }),
        };
    }

    private void Reload(EdgeRateLimitingOptions options)
    {
        var errors = new List<string>();
        RateLimitingValidator.Validate(options, errors);
        if (errors.Count > 0)
        {
            Log.ReloadRejected(_logger, string.Join(" ", errors));
            return;
        }

        var old = _state;
        _state = Build(options, old.Generation + 1);
        Log.Reloaded(_logger, _state.Policies.Count);
        foreach (var limiter in old.Limiters.Values)
        {
            limiter.Dispose();
        }
    }

    private static State Build(EdgeRateLimitingOptions options, int generation)
    {
        var policies = new Dictionary<string, RateLimitPolicyOptions>(options.Policies, StringComparer.OrdinalIgnoreCase);
        var limiters = new Dictionary<string, PartitionedRateLimiter<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, policy) in policies)
        {
            limiters[name] = PartitionedRateLimiter.Create<string, string>(partition => RateLimitPartition.Get(partition, _ => CreateLimiter(policy, forRequests: false)));
        }

        return new State(generation, policies, limiters);
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        foreach (var limiter in _state.Limiters.Values)
        {
            limiter.Dispose();
        }
    }

    private sealed record State(int Generation, Dictionary<string, RateLimitPolicyOptions> Policies, Dictionary<string, PartitionedRateLimiter<string>> Limiters);

    private static partial class Log
    {
        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.RateLimitPoliciesReloaded, Level = LogLevel.Information, Message = "Rate-limit policies reloaded ({Count})")]
        public static partial void Reloaded(ILogger logger, int count);

        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.RateLimitReloadRejected, Level = LogLevel.Error, Message = "Rate-limit policies not reloaded, the last good ones stay: {Errors}")]
        public static partial void ReloadRejected(ILogger logger, string errors);
    }
}
