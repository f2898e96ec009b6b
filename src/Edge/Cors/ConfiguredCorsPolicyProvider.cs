using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace Edge.Cors;

/// <summary>
/// Serves the CORS policies of <c>Edge:Cors:Policies</c> to ASP.NET Core's CORS middleware (and to
/// YARP's route validation). Rebuilt when the configuration changes; an invalid change is
/// logged and the last good policies stay.
/// </summary>
internal sealed partial class ConfiguredCorsPolicyProvider : ICorsPolicyProvider, IDisposable
{
    private readonly ILogger<ConfiguredCorsPolicyProvider> _logger;
    private readonly IDisposable? _subscription;
    private volatile Dictionary<string, CorsPolicy> _policies;

    public ConfiguredCorsPolicyProvider(IOptionsMonitor<EdgeCorsOptions> options, ILogger<ConfiguredCorsPolicyProvider> logger)
    {
        _logger = logger;
        _policies = Build(options.CurrentValue);
        _subscription = options.OnChange(Reload);
    }

    public Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName) =>
        Task.FromResult(policyName is not null && _policies.TryGetValue(policyName, out var policy) ? policy : null);

    private void Reload(EdgeCorsOptions options)
    {
        var errors = new List<string>();
        CorsValidator.Validate(options, errors);
        if (errors.Count > 0)
        {
            Log.ReloadRejected(_logger, string.Join(" ", errors));
            return;
        }

        _policies = Build(options);
    }

    private static Dictionary<string, CorsPolicy> Build(EdgeCorsOptions options)
    {
        var policies = new Dictionary<string, CorsPolicy>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, config) in options.Policies)
        {
            var builder = new CorsPolicyBuilder();
            if (config.Origins.Contains("*") && !config.AllowCredentials)
            {
                builder.AllowAnyOrigin();
            }
            else
            {
                builder.WithOrigins([.. config.Origins.Where(o => o != "*")]);
            }

            if (config.AllowCredentials)
            {
                builder.AllowCredentials();
            }

            builder.WithHeaders([.. config.AllowedHeaders]);
            builder.WithExposedHeaders([.. config.ExposedHeaders]);
            builder.WithMethods([.. config.Methods]);
            builder.SetPreflightMaxAge(config.PreflightMaxAge);
            policies[name] = builder.Build();
        }

        return policies;
    }

    public void Dispose() => _subscription?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.CorsReloadRejected, Level = LogLevel.Error, Message = "CORS policies not reloaded, the last good ones stay: {Errors}")]
        public static partial void ReloadRejected(ILogger logger, string errors);
    }
}
