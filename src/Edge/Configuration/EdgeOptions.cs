namespace Edge.Configuration;

/// <summary>The <c>Edge</c> configuration section as the user wrote it.</summary>
public sealed class EdgeOptions
{
    public const string SectionName = "Edge";

    /// <summary>Addresses to listen on, separated by <c>;</c>. Default <c>http://127.0.0.1:8080</c>.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>
    /// Listen with <c>SO_REUSEPORT</c> (Linux), so several edge processes on one host share a port
    /// and the kernel spreads connections over them. Default false.
    /// </summary>
    public bool ReusePort { get; set; }

    /// <summary>
    /// Run request code on the socket threads instead of hopping to the thread pool (Kestrel's
    /// <c>UnsafePreferInlineScheduling</c>): a few percent more proxy throughput on small
    /// machines. The edge never blocks these threads. Default false.
    /// </summary>
    public bool InlineScheduling { get; set; }

    /// <summary>
    /// Serve a plain-text HTTP/1.1 connection whose first request is a stream <c>GET</c> straight
    /// off the connection, below Kestrel's HTTP layer: a third of the memory per open stream, and
    /// each event goes out with one non-blocking send from the feed. The same admission, replay and
    /// framing run; anything else (TLS, HTTP/2, other requests, unusual heads) goes through
    /// Kestrel as usual. Default true.
    /// </summary>
    public bool DirectStreams { get; set; } = true;

    public BrokerSelectionOptions Broker { get; set; } = new();

    public ReplayOptions Replay { get; set; } = new();

    public PublishOptions Publish { get; set; } = new();

    public ShutdownOptions Shutdown { get; set; } = new();

    public ProxyOptions Proxy { get; set; } = new();

    /// <summary>Whose <c>X-Forwarded-*</c> headers to trust; off by default.</summary>
    public ForwardedHeadersSettings ForwardedHeaders { get; set; } = new();

    public ResponseCompressionSettings ResponseCompression { get; set; } = new();

    public HealthOptions Health { get; set; } = new();

    /// <summary>The operator's calls (end a user's or a session's streams), served only with keys.</summary>
    public Admin.AdminOptions Admin { get; set; } = new();

    /// <summary>Prometheus scrape endpoint, JSON counters, OTLP export.</summary>
    public Diagnostics.MetricsOptions Metrics { get; set; } = new();

    /// <summary>Connection limits across all streams of this instance.</summary>
    public Limits.ConnectionLimitOptions Limits { get; set; } = new();

    /// <summary>Rate-limit policies that streams, the publish API and YARP routes name.</summary>
    public RateLimiting.EdgeRateLimitingOptions RateLimiting { get; set; } = new();

    /// <summary>CORS policies that streams and YARP routes name.</summary>
    public Cors.EdgeCorsOptions Cors { get; set; } = new();

    /// <summary>The demo pages (off by default; on in <c>config/edge.json</c>).</summary>
    public Demo.DemoOptions Demo { get; set; } = new();

    /// <summary>SSE streams served by the edge itself, by name.</summary>
    public Dictionary<string, StreamOptions> Streams { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class BrokerSelectionOptions
{
    /// <summary>Which broker plugin feeds the streams: <c>InMemory</c> (default), <c>RabbitMq</c>, <c>Kafka</c>.</summary>
    public string Type { get; set; } = "InMemory";
}

/// <summary>The replay window every instance keeps in memory, per partition.</summary>
public sealed class ReplayOptions
{
    /// <summary>Most events kept per partition. Default 10,000.</summary>
    public int MaxEvents { get; set; } = 10_000;

    /// <summary>Most encoded bytes kept per partition. Default 64 MiB.</summary>
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Oldest event kept. Default 10 minutes; zero means no age limit.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Whether cursors older than the window are read back from the broker. Default true.</summary>
    public bool ReadFromBroker { get; set; } = true;

    /// <summary>
    /// How long a resume whose cursor is ahead of this instance (another instance read further)
    /// waits for this instance to catch up before the gap signal. Default 5 s.
    /// </summary>
    public TimeSpan CatchUpTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Concurrent read-backs from the broker. Default 4.</summary>
    public int BrokerReadConcurrency { get; set; } = 4;

    /// <summary>Largest envelope accepted from the broker, in bytes; larger ones are skipped as malformed. Default 1 MiB.</summary>
    public int MaxEnvelopeBytes { get; set; } = 1024 * 1024;

    /// <summary>Message ids remembered per instance to drop duplicates of a retried publish. Default 100,000; zero disables.</summary>
    public int DeduplicationIds { get; set; } = 100_000;
}

public sealed class PublishOptions
{
    /// <summary>Whether the HTTP publish API is served. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Its path. Default <c>/_edge/publish</c>.</summary>
    public string Path { get; set; } = "/_edge/publish";

    /// <summary>Keys accepted in <c>Authorization: Bearer</c> or <c>X-Edge-Key</c>. Required when enabled.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>Largest request body, in bytes. Default 1 MiB.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Most envelopes in one request. Default 1,000.</summary>
    public int MaxEventsPerRequest { get; set; } = 1000;

    /// <summary>Seconds suggested in <c>Retry-After</c> when the broker is unavailable. Default 2.</summary>
    public int RetryAfterSeconds { get; set; } = 2;

    /// <summary>Also accept a JWT (validated like a stream's <c>Auth:Jwt</c>) carrying <see cref="JwtRole"/>. Default none.</summary>
    public Auth.JwtAuthOptions? Jwt { get; set; }

    /// <summary>The role a publishing JWT must carry. Default <c>publisher</c>.</summary>
    public string JwtRole { get; set; } = "publisher";

    /// <summary>Rate-limit policy applied to publish requests. Default none.</summary>
    public string? RateLimitPolicy { get; set; }
}

public sealed class ShutdownOptions
{
    /// <summary>How long open streams and requests get to finish on SIGTERM / Ctrl+C. Default 10 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The <c>retry:</c> (ms) sent to each open stream before it is closed. Default 1,000.</summary>
    public int RetryHintMilliseconds { get; set; } = 1000;
}

public sealed class ProxyOptions
{
    /// <summary>
    /// The activity timeout given to every YARP cluster that sets none (YARP's own default is
    /// 100 s, which cuts quiet proxied streams). Default 1 hour.
    /// </summary>
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromHours(1);
}

public sealed class ResponseCompressionSettings
{
    /// <summary>Compress proxied and other responses (gzip, br) for clients that accept it. SSE streams never are. Default false.</summary>
    public bool Enabled { get; set; }
}

public sealed class HealthOptions
{
    /// <summary>Liveness path. Default <c>/_edge/health</c>.</summary>
    public string LivePath { get; set; } = "/_edge/health";

    /// <summary>Readiness path (503 while the broker is down or the edge drains). Default <c>/_edge/ready</c>.</summary>
    public string ReadyPath { get; set; } = "/_edge/ready";

    /// <summary>
    /// Readiness fails while the last record read arrived later than this after the broker appended
    /// it (the feed is behind). Default zero: the lag is reported, not judged.
    /// </summary>
    public TimeSpan MaxFeedLag { get; set; }
}
