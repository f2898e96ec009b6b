using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Edge.Diagnostics;

/// <summary>
/// The separate listen address of <c>Edge:Metrics:Url</c>, once Kestrel bound it: the metrics
/// paths answer only connections that arrived on it.
/// </summary>
internal sealed class MetricsListener
{
    private ListenOptions? _endpoint;

    /// <summary>True when metrics have a listen address of their own.</summary>
    public bool IsSeparate => _endpoint is not null;

    /// <summary>The bound port (the real one when the address asked for port 0); 0 when not separate.</summary>
    public int Port => (_endpoint?.EndPoint as IPEndPoint)?.Port ?? 0;

    public void Bind(ListenOptions endpoint) => _endpoint = endpoint;

    /// <summary>Whether a request may read metrics on the connection it came on.</summary>
    public bool Serves(HttpContext context) => !IsSeparate || context.Connection.LocalPort == Port;
}
