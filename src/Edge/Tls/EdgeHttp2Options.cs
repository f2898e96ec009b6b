namespace Edge.Tls;

/// <summary>
/// The <c>Edge:Http2</c> section: HTTP/2 over TLS (ALPN <c>h2</c>, with <c>http/1.1</c> beside it),
/// Kestrel's HTTP/2 limits, and optional cleartext HTTP/2 with prior knowledge (h2c) for a load
/// balancer that speaks HTTP/2 to the edge.
/// </summary>
public sealed class EdgeHttp2Options
{
    public const string SectionName = "Edge:Http2";

    /// <summary>Offer HTTP/2 on TLS addresses. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Concurrent streams a client may open on one connection (Kestrel's default). Default 100.</summary>
    public int MaxStreamsPerConnection { get; set; } = 100;

    /// <summary>
    /// What a client may send before the edge acknowledges it, per connection (request bodies: publishing,
    /// proxied uploads). How much the edge sends a stream is the client's window. Default 1 MiB.
    /// </summary>
    public int InitialConnectionWindowSize { get; set; } = 1024 * 1024;

    /// <summary>The same per stream. Default 768 KiB.</summary>
    public int InitialStreamWindowSize { get; set; } = 768 * 1024;

    /// <summary>Largest frame payload the edge accepts. Default 16 KiB (the protocol's minimum).</summary>
    public int MaxFrameSize { get; set; } = 16 * 1024;

    /// <summary>A connection that sent no frame for this long gets a PING; zero disables. Default 1 minute.</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A PING unanswered for this long closes the connection. Default 20 s.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Plain <c>http://</c> addresses, <c>;</c>-separated, that speak only HTTP/2 with prior knowledge
    /// (h2c): for a load balancer that terminates TLS and talks HTTP/2 to the edge. None by default.
    /// Kestrel picks HTTP/2 on a cleartext address only when HTTP/1.1 is off there, so these are
    /// addresses of their own.
    /// </summary>
    public string? PriorKnowledgeUrls { get; set; }
}
