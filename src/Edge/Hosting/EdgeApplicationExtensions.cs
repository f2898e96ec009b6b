using Edge.Configuration;
using Edge.Diagnostics;
using Edge.Health;
using Edge.Hub;
using Edge.Proxy;
using Edge.Publishing;
using Edge.Streams;
using Edge.Subscribing;
using Edge.Tls;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace Edge.Hosting;

/// <summary>Marks an endpoint as an SSE stream served by the edge.</summary>
internal sealed record SseStreamMetadata(StreamDefinition Stream);

public static class EdgeApplicationExtensions
{
    /// <summary>Edge endpoints sort before YARP routes, so a stream path wins over a proxy route with the same path.</summary>
    private const int EdgeEndpointOrder = -1000;

    /// <summary>
    /// Maps the edge's pipeline: health, publish API, SSE streams and the YARP routes.
    /// Reading the options here validates them, so a bad configuration stops start-up.
    /// </summary>
    public static WebApplication MapEdge(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<EdgeOptions>>().Value;

        if (options.ForwardedHeaders.Enabled)
        {
            app.UseForwardedHeaders();
        }

        app.UseEdgeTls();
        app.UseRouting();

        // WebApplication adds authentication and authorization by itself only in front of the
        // routing it adds; with routing placed here they must follow it, or a YARP route's
        // AuthorizationPolicy would see no endpoint. Without those services (the default) there is
        // nothing to add, and a route naming a policy is refused (500) rather than proxied.
        if (app.Services.GetService<Microsoft.AspNetCore.Authentication.IAuthenticationSchemeProvider>() is not null)
        {
            app.UseAuthentication();
        }

        if (app.Services.GetService<Microsoft.AspNetCore.Authorization.Policy.IPolicyEvaluator>() is not null)
        {
            app.UseAuthorization();
        }

        // The CORS middleware resolves its policy provider from a new request scope and writes
        // HttpContext.Items on every request. Without CORS metadata on the
        // endpoint it has nothing to apply: the edge's policy provider has no default policy.
        app.UseWhen(static context => context.GetEndpoint()?.Metadata.GetMetadata<ICorsMetadata>() is not null, static cors => cors.UseCors());
        app.UseRateLimiter();

        // Nothing else runs per request unless compression is on: every step here is paid by
        // every proxied request.
        if (options.ResponseCompression.Enabled)
        {
            app.Use(static (context, next) =>
            {
                // Streams are never compressed: a compressor buffers, and SSE must flush each event.
                if (context.GetEndpoint()?.Metadata.GetMetadata<SseStreamMetadata>() is not null)
                {
                    context.Request.Headers.AcceptEncoding = default;
                }

                return next(context);
            });
            app.UseResponseCompression();
        }

        app.Map(options.Health.LivePath, HealthEndpoints.LiveAsync).WithOrder(EdgeEndpointOrder).WithDisplayName("Edge liveness");
        app.Map(options.Health.ReadyPath, (HttpContext context, EventHub hub, EdgeMetrics metrics) => HealthEndpoints.ReadyAsync(context, hub, metrics, options.Health)).WithOrder(EdgeEndpointOrder).WithDisplayName("Edge readiness");
        MetricsEndpoints.Map(app, options.Metrics, EdgeEndpointOrder);
        if (options.Admin.ApiKeys.Count > 0)
        {
            var endStreams = ActivatorUtilities.CreateInstance<Admin.EndStreamsEndpoint>(app.Services, options.Admin);
            app.Map(options.Admin.Path.TrimEnd('/') + "/end-streams", endStreams.HandleAsync).WithOrder(EdgeEndpointOrder).WithDisplayName("Edge admin: end streams");
        }

        if (options.Publish.Enabled)
        {
            var publish = app.Services.GetRequiredService<PublishEndpoint>();
            var publishEndpoint = app.Map(options.Publish.Path, publish.HandleAsync).WithOrder(EdgeEndpointOrder).WithDisplayName("Edge publish API");
            if (options.Publish.RateLimitPolicy is { } publishPolicy)
            {
                publishEndpoint.RequireRateLimiting(publishPolicy);
            }
        }

        if (options.Demo.Enabled)
        {
            MapDemo(app, options.Demo);
        }

        var streams = app.Services.GetRequiredService<SseStreamEndpoint>();
        foreach (var definition in app.Services.GetRequiredService<StreamCatalog>().Streams)
        {
            var streamOptions = definition.Options;
            var endpoint = app.Map(definition.Path, context => streams.HandleAsync(context, definition))
                .WithOrder(EdgeEndpointOrder)
                .WithDisplayName("SSE stream " + definition.Name)
                .WithMetadata(new SseStreamMetadata(definition));
            if (streamOptions.CorsPolicy is { } cors)
            {
                endpoint.RequireCors(cors);
            }
        }

        var proxyErrors = app.Services.GetRequiredService<ProxyErrorResponder>();
        app.MapReverseProxy(proxy =>
        {
            // The steps MapReverseProxy() runs by default, behind the one that counts proxy errors
            // and fills an empty error answer.
            proxy.Use(proxyErrors.InvokeAsync);
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }

    private static void MapDemo(WebApplication app, Demo.DemoOptions demo)
    {
        var endpoints = app.Services.GetRequiredService<Demo.DemoEndpoints>();
        app.MapGet(demo.Path, endpoints.PageAsync).WithOrder(EdgeEndpointOrder).WithDisplayName("Edge demo page");
        app.MapGet(Demo.DemoEndpoints.SettingsPath, endpoints.SettingsAsync).WithOrder(EdgeEndpointOrder).WithDisplayName("Edge demo settings");
        app.Map(Demo.DemoEndpoints.PublishPath, endpoints.PublishAsync).WithOrder(EdgeEndpointOrder).WithDisplayName("Edge demo publish");
        app.Map(Demo.DemoEndpoints.ChatPath, endpoints.ChatAsync).WithOrder(EdgeEndpointOrder).WithDisplayName("Edge demo chat");
        app.MapGet(Demo.DemoOptions.AssetsPath + "/{**file}", (HttpContext context, string file) => endpoints.AssetAsync(context, file)).WithOrder(EdgeEndpointOrder + 1).WithDisplayName("Edge demo assets");
    }
}
