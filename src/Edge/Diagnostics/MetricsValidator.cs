using Edge.Brokers.Envelopes;
using Edge.Configuration;

namespace Edge.Diagnostics;

/// <summary>Checks <c>Edge:Metrics</c>; each error names its key.</summary>
internal static class MetricsValidator
{
    public static void Validate(MetricsOptions metrics, List<string> errors)
    {
        if (!metrics.Enabled)
        {
            return;
        }

        EdgeOptionsValidator.CheckPath(metrics.Path, "Edge:Metrics:Path", errors);
        if (!string.IsNullOrEmpty(metrics.JsonPath))
        {
            EdgeOptionsValidator.CheckPath(metrics.JsonPath, "Edge:Metrics:JsonPath", errors);
            if (string.Equals(metrics.JsonPath, metrics.Path, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add("Edge:Metrics:JsonPath must differ from Edge:Metrics:Path.");
            }
        }

        if (metrics.Url is { Length: > 0 } url && (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme != "http" || uri.AbsolutePath != "/"))
        {
            errors.Add($"Edge:Metrics:Url: '{url}' must be a plain http:// address with a port, e.g. http://0.0.0.0:9464.");
        }

        for (var i = 0; i < metrics.ApiKeys.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(metrics.ApiKeys[i]) || !EnvelopeLimits.IsLineSafe(metrics.ApiKeys[i]))
            {
                errors.Add($"Edge:Metrics:ApiKeys:{i} must be a non-empty key without control characters.");
            }
        }

        for (var i = 0; i < metrics.Meters.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(metrics.Meters[i]))
            {
                errors.Add($"Edge:Metrics:Meters:{i} must name a meter.");
            }
        }

        var otlp = metrics.Otlp;
        if (otlp.Endpoint is { Length: > 0 } endpoint)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https"))
            {
                errors.Add($"Edge:Metrics:Otlp:Endpoint: '{endpoint}' is not an http:// or https:// address.");
            }

            if (otlp.Protocol is not ("HttpProtobuf" or "Grpc"))
            {
                errors.Add($"Edge:Metrics:Otlp:Protocol must be HttpProtobuf or Grpc, not '{otlp.Protocol}'.");
            }

            if (otlp.Interval < TimeSpan.FromMilliseconds(100))
            {
                errors.Add("Edge:Metrics:Otlp:Interval must be at least 00:00:00.1.");
            }
        }
    }
}
