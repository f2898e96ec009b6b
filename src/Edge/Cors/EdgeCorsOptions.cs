namespace Edge.Cors;

/// <summary>CORS policies by name (<c>Edge:Cors</c>).</summary>
public sealed class EdgeCorsOptions
{
    public const string SectionName = "Edge:Cors";

    /// <summary>Policies by name; streams (<c>CorsPolicy</c>) and YARP routes (<c>CorsPolicy</c>) name them.</summary>
    public Dictionary<string, CorsPolicyOptions> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
