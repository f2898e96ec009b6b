namespace Edge.Auth;

/// <summary>Authentication by an auth upstream (<c>...:Auth:Forward</c>), like nginx <c>auth_request</c>.</summary>
public sealed class ForwardAuthOptions
{
    /// <summary>The URL asked with <c>GET</c> for every new stream (unless cached). Required in Forward mode.</summary>
    public string? Url { get; set; }

    /// <summary>Request headers copied to the auth request. Default <c>Authorization</c>.</summary>
    public List<string> Headers { get; set; } = ["Authorization"];

    /// <summary>Copy the client's <c>Cookie</c> header. Default true.</summary>
    public bool ForwardCookies { get; set; } = true;

    /// <summary>Response header giving the user id. Default <c>X-User-Id</c>.</summary>
    public string UserIdHeader { get; set; } = "X-User-Id";

    /// <summary>Response header giving the session id the upstream vouches for. Default <c>X-Session-Id</c>.</summary>
    public string SessionIdHeader { get; set; } = "X-Session-Id";

    /// <summary>Response header giving the allowed channels, comma-separated (exact names and <c>prefix.*</c>). Default <c>X-Allowed-Channels</c>.</summary>
    public string ChannelsHeader { get; set; } = "X-Allowed-Channels";

    /// <summary>Response header giving the roles, comma-separated. Default <c>X-User-Roles</c>.</summary>
    public string RolesHeader { get; set; } = "X-User-Roles";

    /// <summary>How long an answer (2xx, 401, 403) is reused for the same credentials. Default 5 s; zero disables the cache.</summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most cached answers. Default 10,000.</summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>How long the auth upstream may take before the client is answered 503. Default 5 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
