using System.Text.Json;
using Edge.Configuration;
using Edge.Diagnostics;
using Edge.Hub;

namespace Edge.Health;

/// <summary>Liveness and readiness (broker reachable, log open, feed not lagging, not draining).</summary>
internal static class HealthEndpoints
{
    public static async Task LiveAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync("ok", context.RequestAborted).ConfigureAwait(false);
    }

    public static async Task ReadyAsync(HttpContext context, EventHub hub, EdgeMetrics metrics, HealthOptions options)
    {
        var health = hub.Broker.Health;
        var lag = metrics.FeedLag;
        var lagging = options.MaxFeedLag > TimeSpan.Zero && lag > options.MaxFeedLag;
        var ready = hub.IsOpen && health.IsAvailable && !hub.IsDraining && !lagging;
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        var body = new
        {
            status = ready ? "ready" : "not-ready",
            broker = new
            {
                type = hub.Broker.Name,
                state = !hub.IsOpen ? "opening" : health.IsAvailable ? "open" : "unavailable",
                available = health.IsAvailable,
                reason = health.Reason,
                logOpen = hub.IsOpen,
                epoch = hub.IsOpen ? hub.Epoch : null,
            },
            feed = new
            {
                lagSeconds = lag.TotalSeconds,
                maxLagSeconds = options.MaxFeedLag > TimeSpan.Zero ? options.MaxFeedLag.TotalSeconds : (double?)null,
                lagging,
                lastRecordAt = metrics.LastRecordReadAt,
                recordsRead = metrics.RecordsRead,
            },
            draining = hub.IsDraining,
            connections = hub.ConnectionCount,
        };
        await context.Response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted).ConfigureAwait(false);
    }
}
