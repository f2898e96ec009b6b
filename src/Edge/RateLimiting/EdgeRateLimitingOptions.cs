namespace Edge.RateLimiting;

/// <summary>Rate-limit policies by name (<c>Edge:RateLimiting</c>).</summary>
public sealed class EdgeRateLimitingOptions
{
    public const string SectionName = "Edge:RateLimiting";

    /// <summary>Policies by name; streams (<c>RateLimitPolicy</c>), the publish API and YARP routes (<c>RateLimiterPolicy</c>) name them.</summary>
    public Dictionary<string, RateLimitPolicyOptions> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
