using System.Text.Json;
using Edge.Diagnostics;
using Edge.Hub;

namespace Edge.Health;

/// <summary>Liveness and readiness (broker reachable, log open, not draining).</summary>
internal static class HealthEndpoints
{
    public static async Task LiveAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync("ok", context.RequestAborted).ConfigureAwait(false);
    }

    public static async Task ReadyAsync(HttpContext context, EventHub hub)
    {
        var health = hub.Broker.Health;
        var ready = hub.IsOpen && health.IsAvailable && !hub.IsDraining;
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        var body = new
        {
            status = ready ? "ready" : "not-ready",
            broker = new { type = hub.Broker.Name, available = health.IsAvailable, reason = health.Reason, logOpen = hub.IsOpen, epoch = hub.IsOpen ? hub.Epoch : null },
            draining = hub.IsDraining,
            connections = hub.ConnectionCount,
        };
        await context.Response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted).ConfigureAwait(false);
    }
}
