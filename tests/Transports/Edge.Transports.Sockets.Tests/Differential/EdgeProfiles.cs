using Edge.Testing;

namespace Edge.Transports.Sockets.Tests.Differential;

/// <summary>The configuration of each <see cref="EdgeProfile"/>: ordinary Edge and ASP.NET Core keys only.</summary>
internal static class EdgeProfiles
{
    public const string AllowedOrigin = "https://app.example.com";

    /// <summary>The channel every stream of every profile subscribes to, so events published during a case reach it.</summary>
    public const string NewsChannel = "news";

    public const string TokenCookie = "edge_token";

    public static Dictionary<string, string?> Settings(EdgeProfile profile)
    {
        var settings = TestSettings.Default(
        [
            ("Edge:Streams:events:Channels:0", NewsChannel),

            // A stream with a CORS policy (preflights answered by it).
            ("Edge:Cors:Policies:app:Origins:0", AllowedOrigin),
            ("Edge:Cors:Policies:app:AllowCredentials", "true"),
            ("Edge:Cors:Policies:app:ExposedHeaders:0", "X-Edge-Cursor"),
            ("Edge:Streams:cors:Path", "/cors/events"),
            ("Edge:Streams:cors:Channels:0", NewsChannel),
            ("Edge:Streams:cors:CorsPolicy", "app"),

            // A JWT stream reading the token from the header, the query and a cookie.
            .. TestTokens.JwtStream("jwt", ("Edge:Streams:jwt:Auth:Jwt:Cookie", TokenCookie)),
            ("Edge:Streams:jwt:Path", "/jwt/events"),
            ("Edge:Streams:jwt:Channels:0", NewsChannel),

            // A JWT stream answering refusals the seed systems' way (200 + event: error).
            .. TestTokens.JwtStream("seed"),
            ("Edge:Streams:seed:Path", "/seed/events"),
            ("Edge:Streams:seed:Channels:0", NewsChannel),
            ("Edge:Streams:seed:SeedStyle", "true"),

            // A stream with a route parameter in its path and channel.
            ("Edge:Streams:rooms:Path", "/rooms/{room}/events"),
            ("Edge:Streams:rooms:Channels:0", "room.{room}"),
            ("Edge:Streams:rooms:Channels:1", NewsChannel),

            // A stream whose hello is an event, with a retry.
            ("Edge:Streams:hello:Path", "/hello/events"),
            ("Edge:Streams:hello:Channels:0", NewsChannel),
            ("Edge:Streams:hello:Hello:Event", "welcome"),
            ("Edge:Streams:hello:Hello:Data", "{\"v\":1}"),
            ("Edge:Streams:hello:Retry", "2500"),
        ]);

        void Set(string key, string value) => settings[key] = value;

        void ForwardedHeaders()
        {
            Set("Edge:ForwardedHeaders:Enabled", "true");
            Set("Edge:ForwardedHeaders:KnownProxies:0", "127.0.0.1");
            Set("Edge:ForwardedHeaders:ForwardLimit", "1");
            Set("Edge:ForwardedHeaders:Headers:0", "XForwardedFor");
            Set("Edge:ForwardedHeaders:Headers:1", "XForwardedProto");
        }

        void ConcurrencyPerIp()
        {
            Set("Edge:RateLimiting:Policies:one-per-ip:Kind", "Concurrency");
            Set("Edge:RateLimiting:Policies:one-per-ip:PartitionBy", "Ip");
            Set("Edge:RateLimiting:Policies:one-per-ip:PermitLimit", "1");
            Set("Edge:Streams:events:RateLimitPolicy", "one-per-ip");
        }

        switch (profile)
        {
            case EdgeProfile.AllowedHosts:
                Set("AllowedHosts", "localhost;127.0.0.1");
                break;
            case EdgeProfile.Forwarded:
                Set("AllowedHosts", "localhost;127.0.0.1");
                ForwardedHeaders();
                Set("Edge:Limits:MaxConnectionsPerIp", "1");
                break;
            case EdgeProfile.ForwardedRateLimit:
                ForwardedHeaders();
                ConcurrencyPerIp();
                break;
            case EdgeProfile.HostForwarded:
                Set("FORWARDEDHEADERS_ENABLED", "true");
                Set("Edge:Limits:MaxConnectionsPerIp", "1");
                break;
            case EdgeProfile.IpLimit:
                Set("Edge:Limits:MaxConnectionsPerIp", "1");
                break;
            case EdgeProfile.RateLimit:
                ConcurrencyPerIp();
                break;
            case EdgeProfile.UserStreamLimit:
                Set("Edge:Streams:events:Limits:MaxConnectionsPerUser", "1");
                break;
            case EdgeProfile.Capacity:
                Set("Edge:Limits:MaxConnections", "1");
                break;
        }

        return settings;
    }
}
