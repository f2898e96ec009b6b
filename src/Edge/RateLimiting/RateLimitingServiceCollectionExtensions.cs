using System.Globalization;
using System.Threading.RateLimiting;
using Edge.Diagnostics;
using Edge.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Edge.RateLimiting;

internal static partial class RateLimitingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the policies of <c>Edge:RateLimiting:Policies</c> with ASP.NET Core rate limiting
    /// (for the publish API and YARP routes' <c>RateLimiterPolicy</c>) and the limiters streams use.
    /// Policy names are read at start; their settings reload with the configuration.
    /// </summary>
    public static IServiceCollection AddEdgeRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EdgeRateLimitingOptions>().Bind(configuration.GetSection(EdgeRateLimitingOptions.SectionName));
        services.TryAddSingleton<EdgeRateLimiters>();
        var names = configuration.GetSection(EdgeRateLimitingOptions.SectionName + ":Policies").GetChildren().Select(c => c.Key).ToArray();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            foreach (var name in names)
            {
                options.AddPolicy(name, context => context.RequestServices.GetRequiredService<EdgeRateLimiters>().GetPartition(name, context));
            }

            options.OnRejected = static async (rejected, cancellationToken) =>
            {
                var context = rejected.HttpContext;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Edge.RateLimiting");
                Log.Rejected(logger, context.GetEndpoint()?.DisplayName ?? context.Request.Path.ToString(), context.Connection.RemoteIpAddress?.ToString());
                await ProblemResponses.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", string.Create(CultureInfo.InvariantCulture, $"Rate limit reached; retry in {Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))} s."), retryAfter: retryAfter).ConfigureAwait(false);
            };
        });
        return services;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.RequestRateLimited, Level = LogLevel.Information, Message = "Request to {Endpoint} from {RemoteIp} rate limited")]
        public static partial void Rejected(ILogger logger, string endpoint, string? remoteIp);
    }
}
