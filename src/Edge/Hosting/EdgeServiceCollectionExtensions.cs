using Edge.Brokers.Registration;
using Edge.Configuration;
using Edge.Cors;
using Edge.Diagnostics;
using Edge.Hub;
using Edge.Proxy;
using Edge.Publishing;
using Edge.RateLimiting;
using Edge.Streams;
using Edge.Subscribing;
using Edge.Tls;
using Edge.Transports;
using Edge.Transports.Sockets;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Edge.Hosting;

public static class EdgeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the edge: options from <c>Edge</c>, YARP from <c>ReverseProxy</c>, the hub, the
    /// stream and publish endpoints, and the broker named by <c>Edge:Broker:Type</c>.
    /// </summary>
    public static IEdgeBuilder AddEdge(this IServiceCollection services, IConfiguration configuration)
    {
        var edgeSection = configuration.GetSection(EdgeOptions.SectionName);

        // What decides which services exist is read once here, with the options' own defaults;
        // everything else reads the validated IOptions<EdgeOptions>.
        var registration = edgeSection.Get<EdgeOptions>() ?? new EdgeOptions();
        var catalog = BrokerCatalog.Discover();
        services.AddSingleton(catalog);
        services.AddOptions<EdgeOptions>().Bind(edgeSection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EdgeOptions>, EdgeOptionsValidator>();
        services.AddSingleton<IValidateOptions<EdgeOptions>>(new StreamSectionsValidator(edgeSection));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<Microsoft.AspNetCore.Builder.ForwardedHeadersOptions>, Http.ForwardedHeadersSetup>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddEdgeMetrics(registration.Metrics);
        services.TryAddSingleton<EventHub>();
        services.AddHostedService<EventHubService>();
        services.TryAddSingleton<SseStreamEndpoint>();
        services.TryAddSingleton<StreamCatalog>();
        services.TryAddSingleton<Auth.StreamAuthenticator>();
        services.TryAddSingleton<Auth.StreamAccess>();
        services.TryAddSingleton<Limits.ConnectionLimiter>();
        services.AddEdgeRateLimiting(configuration);
        services.AddEdgeCors(configuration);
        services.TryAddSingleton<PublishEndpoint>();
        services.TryAddSingleton<Demo.DemoEndpoints>();
        services.TryAddSingleton<ProxyErrorResponder>();
        services.AddEdgeTls(configuration);

        services.AddReverseProxy()
            .LoadFromConfig(configuration.GetSection("ReverseProxy"))
            .AddConfigFilter<ActivityTimeoutConfigFilter>();

        services.AddResponseCompression(options =>
        {
            options.EnableForHttps = true;
            options.Providers.Add<BrotliCompressionProvider>();
            options.Providers.Add<GzipCompressionProvider>();
            options.ExcludedMimeTypes = ["text/event-stream"];
        });

        services.AddOptions<HostOptions>().Configure<IOptions<EdgeOptions>>(static (host, edge) =>
        {
            var drain = edge.Value.Shutdown.DrainTimeout;
            host.ShutdownTimeout = drain < TimeSpan.Zero ? TimeSpan.Zero : drain;
        });
        services.AddOptions<KestrelServerOptions>().Configure(static kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.MaxConcurrentUpgradedConnections = null;
        });
        services.AddOptions<SocketTransportOptions>().Configure<IOptions<EdgeOptions>>(static (sockets, edge) =>
        {
            if (edge.Value.ReusePort)
            {
                sockets.CreateBoundListenSocket = ReusePortListenSocket.Create;
            }

            sockets.UnsafePreferInlineScheduling = edge.Value.InlineScheduling;
        });

        if (registration.DirectStreams)
        {
            // The host's own listener factory is registered by WebApplication.CreateBuilder, before
            // this one, so Kestrel binds its IP endpoints through the fast path's.
            services.TryAddSingleton<IDirectStreamEndpoint, DirectStreamEndpoint>();
            services.AddSocketStreams();
        }

        var builder = new EdgeBuilder(services, edgeSection);
        if (catalog.TryFind(registration.Broker.Type, out var broker))
        {
            broker.Register(builder);
        }

        // An unknown type registers nothing; EdgeOptionsValidator reports it by key at start.
        return builder;
    }
}
