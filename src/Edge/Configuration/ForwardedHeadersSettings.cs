namespace Edge.Configuration;

/// <summary>
/// <c>Edge:ForwardedHeaders</c>: trust <c>X-Forwarded-*</c> from the load balancers in front of
/// the edge, so limits, rate limits, logs and the request scheme see the real client. Applied by
/// ASP.NET Core's forwarded-headers middleware, on every request and every stream alike.
/// </summary>
public sealed class ForwardedHeadersSettings
{
    /// <summary>Whether forwarded headers are read at all. Default false (the edge faces clients directly).</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// Which headers: <c>XForwardedFor</c>, <c>XForwardedProto</c>, <c>XForwardedHost</c>,
    /// <c>XForwardedPrefix</c> or <c>All</c>. Default (null) <c>XForwardedFor</c> and <c>XForwardedProto</c>.
    /// </summary>
    public List<string>? Headers { get; set; }

    /// <summary>Addresses of the proxies whose headers are trusted. With neither these nor networks: loopback only.</summary>
    public List<string>? KnownProxies { get; set; }

    /// <summary>Networks (CIDR, e.g. <c>10.0.0.0/8</c>) whose proxies are trusted.</summary>
    public List<string>? KnownNetworks { get; set; }

    /// <summary>How many proxy hops are read from the right; 0 means no limit. Default 1.</summary>
    public int ForwardLimit { get; set; } = 1;
}
