using System.Globalization;
using System.Net;
using System.Text;

namespace Edge.Bench;

internal enum TargetKind
{
    Edge,
    Nchan,
    Pushpin,
}

/// <summary>Where to subscribe and how to publish for one system under test. Loopback only.</summary>
internal sealed class Target
{
    public required TargetKind Kind { get; init; }

    public required string Name { get; init; }

    public required IPEndPoint Server { get; init; }

    /// <summary>Base of the publish endpoint: the edge's own port, nchan's port, Pushpin's control port.</summary>
    public required Uri PublishBase { get; init; }

    public string PublishKey { get; init; } = "dev-publish-key";

    public string PublishPath { get; init; } = "/_edge/publish";

    public string StreamPath { get; init; } = "/events";

    /// <summary>Streams over TLS (<c>--tls</c>): <see cref="Server"/> is the TLS port; publishing stays on <see cref="PublishBase"/> in clear.</summary>
    public bool Tls { get; init; }

    /// <summary>TLS 1.3 and 1.2 cipher suites the client offers (<c>--tls-ciphers</c>, comma-separated <c>TlsCipherSuite</c> names); null = .NET's defaults.</summary>
    public IReadOnlyList<string>? TlsCiphers { get; init; }

    public static Target From(Options o)
    {
        var kind = Enum.Parse<TargetKind>(o.Str("target", "edge"), ignoreCase: true);
        var host = IPAddress.Parse(o.Str("host", "127.0.0.1"));
        if (!IPAddress.IsLoopback(host))
        {
            throw new ArgumentException("only loopback targets are allowed");
        }

        var port = o.Int("port", kind switch { TargetKind.Edge => 18080, TargetKind.Nchan => 18081, _ => 18082 });
        var publishPort = o.Int("publish-port", kind == TargetKind.Pushpin ? 15561 : port);
        return new Target
        {
            Kind = kind,
            Name = o.Str("name", kind.ToString().ToLowerInvariant()),
            Server = new IPEndPoint(host, port),
            PublishBase = new Uri($"http://{host}:{publishPort}"),
            PublishKey = o.Str("publish-key", "dev-publish-key"),
            PublishPath = o.Str("publish-path", "/_edge/publish"),
            StreamPath = o.Str("stream-path", "/events"),
            Tls = o.Flag("tls"),
            TlsCiphers = o.StrOrNull("tls-ciphers")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
    }

    public string SubscribePath(string channel) => Kind switch
    {
        TargetKind.Edge => $"{StreamPath}?channels={Uri.EscapeDataString(channel)}",
        TargetKind.Nchan => $"/sub/{Uri.EscapeDataString(channel)}",
        _ => $"/stream/{Uri.EscapeDataString(channel)}",
    };

    public byte[] SubscribeRequest(string channel, string? lastEventId, string? clientTag = null)
    {
        var sb = new StringBuilder(256);
        sb.Append("GET ").Append(SubscribePath(channel)).Append(" HTTP/1.1\r\n");
        sb.Append("Host: ").Append(Server.Address).Append(':').Append(Server.Port.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        sb.Append("Accept: text/event-stream\r\nCache-Control: no-cache\r\n");
        if (lastEventId is not null)
        {
            sb.Append("Last-Event-ID: ").Append(lastEventId).Append("\r\n");
        }

        if (clientTag is not null)
        {
            sb.Append("X-Bench-Client: ").Append(clientTag).Append("\r\n");
        }

        sb.Append("\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>One publish request carrying <paramref name="payload"/> (ASCII, no line breaks) on <paramref name="channel"/>.</summary>
    public HttpRequestMessage PublishRequest(string channel, string payload, long seq)
    {
        switch (Kind)
        {
            case TargetKind.Edge:
            {
                var req = new HttpRequestMessage(HttpMethod.Post, new Uri(PublishBase, PublishPath))
                {
                    Content = new StringContent($"{{\"channel\":\"{channel}\",\"data\":\"{payload}\"}}", Encoding.UTF8, "application/json"),
                };
                req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + PublishKey);
                return req;
            }

            case TargetKind.Nchan:
                return new HttpRequestMessage(HttpMethod.Post, new Uri(PublishBase, "/pub/" + Uri.EscapeDataString(channel)))
                {
                    Content = new StringContent(payload, Encoding.UTF8, "text/plain"),
                };

            default:
            {
                var content = $"id: {channel}-{seq}\\ndata: {payload}\\n\\n";
                var body = $"{{\"items\":[{{\"channel\":\"{channel}\",\"id\":\"{channel}-{seq}\",\"formats\":{{\"http-stream\":{{\"content\":\"{content}\"}}}}}}]}}";
                return new HttpRequestMessage(HttpMethod.Post, new Uri(PublishBase, "/publish/"))
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/json"),
                };
            }
        }
    }
}
