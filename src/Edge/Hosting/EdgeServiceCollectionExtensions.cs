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
using Microsoft.AspNetCore.ResponseCompression;
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
        var catalog = BrokerCatalog.Discover();
        services.AddSingleton(catalog);
        services.AddOptions<EdgeOptions>().Bind(edgeSection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EdgeOptions>, EdgeOptionsValidator>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<Microsoft.AspNetCore.Builder.ForwardedHeadersOptions>, Http.ForwardedHeadersSetup>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<EdgeMetrics>();
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

        var drain = edgeSection.GetValue<TimeSpan?>("Shutdown:DrainTimeout") ?? new ShutdownOptions().DrainTimeout;
        services.Configure<HostOptions>(options => options.ShutdownTimeout = drain < TimeSpan.Zero ? TimeSpan.Zero : drain);

        var builder = new EdgeBuilder(services, edgeSection);
        var type = edgeSection["Broker:Type"] ?? new BrokerSelectionOptions().Type;
        if (catalog.TryFind(type, out var registration))
        {
            registration.Register(builder);
        }

        // An unknown type registers nothing; EdgeOptionsValidator reports it by key at start.
        return builder;
    }
}
