namespace Edge.Configuration;

/// <summary>One SSE stream (<c>Edge:Streams:{name}</c>).</summary>
public sealed class StreamOptions
{
    /// <summary>Route pattern, e.g. <c>/events</c> or <c>/chat/{room}/events</c>. Required.</summary>
    public string? Path { get; set; }

    /// <summary>Channels every connection subscribes to; may use route values, e.g. <c>chat.{room}</c>.</summary>
    public List<string> Channels { get; set; } = [];

    /// <summary>Query parameter with extra comma-separated channels; empty disables it. Default <c>channels</c>.</summary>
    public string? ChannelsQuery { get; set; } = "channels";

    /// <summary>Most channels one connection may ask for (personal channels not counted). Default 32.</summary>
    public int MaxChannels { get; set; } = 32;

    public IdentityOptions Identity { get; set; } = new();

    /// <summary>What is written first, flushing the headers. Default the comment <c>:ok</c>.</summary>
    public SignalOptions Hello { get; set; } = new() { Comment = "ok" };

    /// <summary>A <c>retry:</c> (ms) sent after the hello; null sends none. Default null.</summary>
    public int? Retry { get; set; }

    public HeartbeatOptions Heartbeat { get; set; } = new();

    /// <summary>Whether Last-Event-ID resumes the stream. Default true.</summary>
    public bool Replay { get; set; } = true;

    /// <summary>
    /// Whether the current cursor is sent (an <c>id:</c> without data) right after the hello, so
    /// a client that reconnects before any event arrives still resumes exactly. Default true.
    /// </summary>
    public bool SendInitialCursor { get; set; } = true;

    /// <summary>The event sent when events were missed beyond recovery. Default <c>edge-gap</c>.</summary>
    public string GapEvent { get; set; } = "edge-gap";

    /// <summary>Events queued per connection before it is closed as too slow. Default 1,024.</summary>
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>Who may connect and to which channels. Default Anonymous.</summary>
    public Auth.StreamAuthOptions Auth { get; set; } = new();

    /// <summary>
    /// How transient refusals (rate limited, over a limit, draining, broker down) are answered:
    /// <c>Status</c> (429/503 + Retry-After, default) or <c>Event</c> (200 + <c>event: error</c> +
    /// <c>retry:</c> with jitter, then close, so a browser EventSource comes back on its own).
    /// </summary>
    public RefusalStyle RefusalStyle { get; set; } = RefusalStyle.Status;

    /// <summary>
    /// Answer every refusal, permanent ones included, the way the seed systems did: 200 with
    /// <c>event: error</c> / <c>data: {"error":"Unauthorized","code":401}</c>. Default false.
    /// </summary>
    public bool SeedStyle { get; set; }

    /// <summary>The base of the <c>retry:</c> (ms) sent with an Event-style refusal; up to half again is added as jitter. Default 5,000.</summary>
    public int RefusalRetryMilliseconds { get; set; } = 5000;

    public Limits.StreamLimitOptions Limits { get; set; } = new();

    /// <summary>Rate-limit policy (from <c>Edge:RateLimiting:Policies</c>) applied to connect attempts. Default none.</summary>
    public string? RateLimitPolicy { get; set; }

    /// <summary>CORS policy (from <c>Edge:Cors:Policies</c>) for this stream, preflight included. Default none.</summary>
    public string? CorsPolicy { get; set; }
}

/// <summary>How a stream answers transient refusals.</summary>
public enum RefusalStyle
{
    /// <summary>429 or 503 with Retry-After and problem+json.</summary>
    Status = 0,

    /// <summary>200 with <c>retry:</c> and <c>event: error</c>, then close.</summary>
    Event = 1,
}

/// <summary>Where the user and session ids come from (real authentication replaces these).</summary>
public sealed class IdentityOptions
{
    /// <summary>Query parameter holding the user id. Default <c>userId</c>; empty disables it.</summary>
    public string? UserIdQuery { get; set; } = "userId";

    /// <summary>Header holding the user id. Default none.</summary>
    public string? UserIdHeader { get; set; }

    /// <summary>Query parameter holding the session id. Default <c>sessionId</c>.</summary>
    public string? SessionIdQuery { get; set; } = "sessionId";

    /// <summary>Header holding the session id. Default <c>X-Session-Id</c>.</summary>
    public string? SessionIdHeader { get; set; } = "X-Session-Id";
}

/// <summary>A hello or heartbeat: a comment, or a named event with data.</summary>
public sealed class SignalOptions
{
    /// <summary>Comment text (written as <c>:{text}</c>), used when <see cref="Event"/> is not set.</summary>
    public string? Comment { get; set; }

    /// <summary>Event name; when set, an event is sent instead of a comment.</summary>
    public string? Event { get; set; }

    /// <summary>The event's data. Default empty.</summary>
    public string? Data { get; set; }
}

public sealed class HeartbeatOptions
{
    /// <summary>Silence after which a heartbeat is sent. Default 15 s; zero disables heartbeats.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Comment text when no event is set. Default <c>keepalive</c>.</summary>
    public string? Comment { get; set; } = "keepalive";

    /// <summary>Send a named event instead, e.g. <c>heartbeat</c>.</summary>
    public string? Event { get; set; }

    /// <summary>The heartbeat event's data, e.g. <c>{}</c>.</summary>
    public string? Data { get; set; }
}
