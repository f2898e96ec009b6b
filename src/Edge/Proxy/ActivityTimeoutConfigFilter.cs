using Edge.Configuration;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Edge.Proxy;

/// <summary>
/// Gives every YARP cluster that sets no <c>HttpRequest:ActivityTimeout</c> the edge's default
/// (<c>Edge:Proxy:ActivityTimeout</c>), so a quiet upstream stream is not cut after YARP's 100 s.
/// A cluster's own value always wins.
/// </summary>
internal sealed class ActivityTimeoutConfigFilter(IOptionsMonitor<EdgeOptions> options) : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        if (cluster.HttpRequest?.ActivityTimeout is not null)
        {
            return ValueTask.FromResult(cluster);
        }

        var request = cluster.HttpRequest ?? new ForwarderRequestConfig();
        return ValueTask.FromResult(cluster with { HttpRequest = request with { ActivityTimeout = options.CurrentValue.Proxy.ActivityTimeout } });
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) =>
        ValueTask.FromResult(route);
}
