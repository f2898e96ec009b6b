using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Edge.Diagnostics;

public static class MetricsServiceCollectionExtensions
{
    /// <summary>The meters ASP.NET Core and .NET publish that <c>Edge:Metrics:FrameworkMeters</c> exports.</summary>
    internal static readonly string[] FrameworkMeterNames =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.RateLimiting",
        "System.Net.Http",
        "System.Runtime",
    ];

    /// <summary>
    /// The edge's instruments, and OpenTelemetry's meter provider exporting them (with the
    /// framework's meters) to the Prometheus scrape endpoint and, when configured, over OTLP.
    /// </summary>
    internal static IServiceCollection AddEdgeMetrics(this IServiceCollection services, MetricsOptions options)
    {
        services.AddMetrics();
        services.TryAddSingleton<EdgeMetrics>();
        services.TryAddSingleton<MetricsListener>();
        var otlp = options.Otlp.Endpoint is { Length: > 0 };
        if (!options.Enabled && !otlp)
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("edge"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(EdgeMetrics.MeterName);
                if (options.FrameworkMeters)
                {
                    metrics.AddMeter(FrameworkMeterNames);
                }

                metrics.AddMeter([.. options.Meters]);

                // A meter provider subscribes to meters by name in the whole process; meters made by
                // another host's IMeterFactory (several hosts in one process, as in tests) are not ours.
                ((IDeferredMeterProviderBuilder)metrics).Configure((provider, builder) =>
                {
                    var factory = provider.GetRequiredService<IMeterFactory>();
                    builder.AddView(instrument => instrument.Meter.Scope is null || ReferenceEquals(instrument.Meter.Scope, factory) ? null : MetricStreamConfiguration.Drop);
                });
                if (options.Enabled)
                {
                    metrics.AddPrometheusExporter(prometheus =>
                    {
                        prometheus.ScrapeEndpointPath = options.Path;

                        // Every scrape reads the instruments now; the listener and the key protect the path.
                        prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                    });
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        exporter.Endpoint = new Uri(options.Otlp.Endpoint!);
                        exporter.Protocol = options.Otlp.Protocol == "Grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                        if (options.Otlp.Headers.Count > 0)
                        {
                            exporter.Headers = string.Join(',', options.Otlp.Headers.Select(h => $"{h.Key}={h.Value}"));
                        }

                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)Math.Min(int.MaxValue, options.Otlp.Interval.TotalMilliseconds);
                        reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                    });
                }
            });
        return services;
    }
}
