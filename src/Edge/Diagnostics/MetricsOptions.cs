namespace Edge.Diagnostics;

/// <summary><c>Edge:Metrics</c>: the Prometheus scrape endpoint, the JSON counters and OTLP export.</summary>
public sealed class MetricsOptions
{
    /// <summary>Serve the Prometheus scrape endpoint and the JSON counters. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Path of the Prometheus text exposition. Default <c>/_edge/metrics</c>.</summary>
    public string Path { get; set; } = "/_edge/metrics";

    /// <summary>Path of the JSON counters and memory figures; empty disables it. Default <c>/_edge/metrics.json</c>.</summary>
    public string? JsonPath { get; set; } = "/_edge/metrics.json";

    /// <summary>
    /// A separate <c>http://</c> listen address for both paths (e.g. <c>http://0.0.0.0:9464</c>); they
    /// are then served only there, and <c>404</c> on <c>Edge:Urls</c>. Default none (served on <c>Edge:Urls</c>).
    /// </summary>
    public string? Url { get; set; }

    /// <summary>Keys a scrape must present (<c>Authorization: Bearer</c> or <c>X-Edge-Key</c>); empty: no key. Default none.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>
    /// Also export the meters ASP.NET Core and .NET publish: <c>Microsoft.AspNetCore.Hosting</c>
    /// (requests), <c>Microsoft.AspNetCore.Server.Kestrel</c> (connections, TLS handshakes),
    /// <c>Microsoft.AspNetCore.RateLimiting</c>, <c>System.Net.Http</c> (YARP's upstream requests)
    /// and <c>System.Runtime</c> (GC, memory, thread pool). Default true.
    /// </summary>
    public bool FrameworkMeters { get; set; } = true;

    /// <summary>More meter names to export (wildcards such as <c>MyCompany.*</c> allowed). Default none.</summary>
    public List<string> Meters { get; set; } = [];

    /// <summary>OTLP export; off unless <c>Endpoint</c> is set.</summary>
    public OtlpMetricsOptions Otlp { get; set; } = new();
}

/// <summary><c>Edge:Metrics:Otlp</c>: push the same instruments to an OpenTelemetry collector.</summary>
public sealed class OtlpMetricsOptions
{
    /// <summary>The collector, e.g. <c>http://127.0.0.1:4318/v1/metrics</c> (HTTP) or <c>http://127.0.0.1:4317</c> (gRPC). Default none (off).</summary>
    public string? Endpoint { get; set; }

    /// <summary><c>HttpProtobuf</c> or <c>Grpc</c>. Default <c>HttpProtobuf</c>.</summary>
    public string Protocol { get; set; } = "HttpProtobuf";

    /// <summary>How often metrics are pushed. Default 15 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Extra request headers, e.g. <c>{"Authorization": "Bearer …"}</c>. Default none.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
