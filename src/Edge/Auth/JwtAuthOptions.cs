namespace Edge.Auth;

/// <summary>JWT validation (<c>...:Auth:Jwt</c>).</summary>
public sealed class JwtAuthOptions
{
    /// <summary>Accepted <c>iss</c> values; empty skips the issuer check.</summary>
    public List<string> Issuers { get; set; } = [];

    /// <summary>Accepted <c>aud</c> values; empty skips the audience check.</summary>
    public List<string> Audiences { get; set; } = [];

    /// <summary>HS256 shared secrets: plain text, or <c>base64:...</c>. At least 32 bytes each.</summary>
    public List<string> Secrets { get; set; } = [];

    /// <summary>A JWKS file with RS256/ES256 public keys.</summary>
    public string? JwksFile { get; set; }

    /// <summary>A JWKS URL with RS256/ES256 public keys, fetched at first use and refreshed.</summary>
    public string? JwksUrl { get; set; }

    /// <summary>How long a loaded JWKS is used before it is read again. Default 10 minutes.</summary>
    public TimeSpan JwksRefresh { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Accepted signature algorithms. Default HS256, RS256, ES256 (<c>none</c> is never accepted).</summary>
    public List<string> Algorithms { get; set; } = ["HS256", "RS256", "ES256"];

    /// <summary>Clock skew allowed on <c>exp</c> and <c>nbf</c>. Default 30 s.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether a token without <c>exp</c> is refused. Default true.</summary>
    public bool RequireExpiration { get; set; } = true;

    /// <summary>Read the token from <c>Authorization: Bearer</c>. Default true.</summary>
    public bool FromHeader { get; set; } = true;

    /// <summary>Query parameter holding the token (EventSource cannot set headers); empty disables it. Default <c>token</c>.</summary>
    public string? QueryParameter { get; set; } = "token";

    /// <summary>Cookie holding the token; empty disables it. Default none.</summary>
    public string? Cookie { get; set; }

    /// <summary>Claim holding the user id. Default <c>sub</c>.</summary>
    public string UserIdClaim { get; set; } = "sub";

    /// <summary>Claim holding the session ids the token vouches for. Default <c>sid</c>.</summary>
    public string SessionIdClaim { get; set; } = "sid";

    /// <summary>
    /// Claim holding the channels the client may request (exact names and <c>prefix.*</c>; a JSON
    /// array or a space-separated string). Without the claim only the stream's own channels and
    /// the client's personal channels are allowed. Default <c>channels</c>.
    /// </summary>
    public string ChannelsClaim { get; set; } = "channels";

    /// <summary>Claim holding the roles (JSON array or space-separated). Default <c>roles</c>.</summary>
    public string RolesClaim { get; set; } = "roles";
}
