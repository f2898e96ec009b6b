using System.Text.Json;
using Edge.Http;
using Microsoft.AspNetCore.Routing;

namespace Edge.Diagnostics;

/// <summary>
/// The metrics paths: the Prometheus text exposition (OpenTelemetry's exporter) and the JSON
/// counters, both behind the same gate (separate listen address, API key).
/// </summary>
internal static class MetricsEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints, MetricsOptions options, int order)
    {
        if (!options.Enabled)
        {
            return;
        }

        var listener = endpoints.ServiceProvider.GetRequiredService<MetricsListener>();
        var keys = new ApiKeys(options.ApiKeys);
        endpoints.MapPrometheusScrapingEndpoint(options.Path, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (context, next) =>
            {
                if (await AllowAsync(context, listener, keys).ConfigureAwait(false))
                {
                    await next(context).ConfigureAwait(false);
                }
            }), optionsName: null)
            .WithOrder(order)
            .WithDisplayName("Edge metrics (Prometheus)");

        if (!string.IsNullOrEmpty(options.JsonPath))
        {
            endpoints.Map(options.JsonPath, async (HttpContext context, EdgeMetrics metrics, Limits.ConnectionLimiter limits) =>
                {
                    if (await AllowAsync(context, listener, keys).ConfigureAwait(false))
                    {
                        await JsonAsync(context, metrics, limits).ConfigureAwait(false);
                    }
                })
                .WithOrder(order)
                .WithDisplayName("Edge metrics (JSON)");
        }
    }

    /// <summary>404 on the wrong listener, 401 without a configured key; true when the request may read metrics.</summary>
    private static async Task<bool> AllowAsync(HttpContext context, MetricsListener listener, ApiKeys keys)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (!listener.Serves(context))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return false;
        }

        if (!keys.IsEmpty && !keys.Contains(ApiKeys.Presented(context.Request)))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await ProblemResponses.WriteAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", "A metrics key is required in 'Authorization: Bearer' or 'X-Edge-Key'.").ConfigureAwait(false);
            return false;
        }

        return true;
    }

    private static async Task JsonAsync(HttpContext context, EdgeMetrics metrics, Limits.ConnectionLimiter limits)
    {
        context.Response.ContentType = "application/json";
        var gc = GC.GetGCMemoryInfo();
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var body = new
        {
            counters = metrics.Snapshot(),

            // What the connection limiter holds now: back to 0 when every stream has ended.
            limits = Limits(limits.Counts),
            memory = new
            {
                workingSetBytes = process.WorkingSet64,

                // GetGCMemoryInfo describes the last collection, and a server-GC process with large
                // budgets may not have had one yet (its heap size then reads 0); this is the heap now.
                gcHeapBytes = GC.GetTotalMemory(forceFullCollection: false),
                gcCollections = GC.CollectionCount(0),
                gcFragmentedBytes = gc.Index == 0 ? (long?)null : gc.FragmentedBytes,
                gcCommittedBytes = gc.Index == 0 ? (long?)null : gc.TotalCommittedBytes,
            },
        };
        await context.Response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted).ConfigureAwait(false);
    }

    private static object Limits((int Total, int Ips, int Users, int UserStreams) counts) =>
        new { streams = counts.Total, ips = counts.Ips, users = counts.Users, userStreams = counts.UserStreams };
}
