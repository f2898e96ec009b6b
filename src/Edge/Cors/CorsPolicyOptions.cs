namespace Edge.Cors;

/// <summary>One CORS policy (<c>Edge:Cors:Policies:{name}</c>).</summary>
public sealed class CorsPolicyOptions
{
    /// <summary>Allowed origins (<c>https://app.example.com</c>), or <c>*</c> (never with credentials). Required.</summary>
    public List<string> Origins { get; set; } = [];

    /// <summary>Whether cookies and credentials may be sent (<c>withCredentials</c>). Default false.</summary>
    public bool AllowCredentials { get; set; }

    /// <summary>Request headers a page may send. Default Last-Event-ID, Cache-Control, Authorization, Content-Type, X-Session-Id.</summary>
    public List<string> AllowedHeaders { get; set; } = ["Last-Event-ID", "Cache-Control", "Authorization", "Content-Type", "X-Session-Id"];

    /// <summary>Response headers a page may read. Default none.</summary>
    public List<string> ExposedHeaders { get; set; } = [];

    /// <summary>Allowed methods. Default GET, POST, HEAD.</summary>
    public List<string> Methods { get; set; } = ["GET", "POST", "HEAD"];

    /// <summary>How long a browser may cache a preflight answer. Default 10 minutes.</summary>
    public TimeSpan PreflightMaxAge { get; set; } = TimeSpan.FromMinutes(10);
}
