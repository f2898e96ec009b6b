using System.Net;
using System.Text;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Edge.Proxy.Direct;

/// <summary>
/// Which request paths the direct proxy may forward itself: those that exactly one of the app's
/// endpoints could match, when that endpoint is a YARP route the direct proxy forwards exactly as
/// YARP would (path match only, no transforms, policies or timeouts of its own, one plain-HTTP
/// destination at an IP address). Anything else, including every path that
/// an edge endpoint or a second route might also match, stays with ASP.NET routing and YARP.
/// The table follows the endpoints as YARP's configuration reloads.
/// </summary>
internal sealed class DirectProxyRoutes
{
    private readonly EndpointDataSource _endpoints;
    private readonly object _gate = new();
    private Table? _table;
    private IDisposable? _subscription;

    public DirectProxyRoutes(EndpointDataSource endpoints)
    {
        _endpoints = endpoints;
    }

    /// <summary>Whether any route could be forwarded directly at all; without one, connections go straight to Kestrel.</summary>
    public bool Any => (Volatile.Read(ref _table) ?? Build()).AnyDirect;

    /// <summary>The direct route for a request path (plain ASCII, no escapes), or null when ASP.NET's routing must decide.</summary>
    public DirectRoute? Match(ReadOnlySpan<byte> path)
    {
        var candidates = (Volatile.Read(ref _table) ?? Build()).Candidates;
        if (path.Length > 1 && path[^1] == (byte)'/')
        {
            path = path[..^1];
        }

        DirectRoute? found = null;
        var matches = 0;
        foreach (var candidate in candidates)
        {
            if (candidate.Matches(path))
            {
                if (++matches > 1)
                {
                    return null;
                }

                found = candidate.Route;
            }
        }

        return found;
    }

    private Table Build()
    {
        lock (_gate)
        {
            if (_table is { } built)
            {
                return built;
            }

            _subscription ??= ChangeToken.OnChange(_endpoints.GetChangeToken, Invalidate);
            var candidates = new List<Candidate>();
            foreach (var endpoint in _endpoints.Endpoints)
            {
                if (endpoint is RouteEndpoint route)
                {
                    candidates.Add(Candidate.From(route));
                }
            }

            var result = new Table([.. candidates], candidates.Exists(c => c.Route is not null));
            Volatile.Write(ref _table, result);
            return result;
        }
    }

    /// <summary>Under the lock, so a table being built from the old endpoints is never published after the change.</summary>
    private void Invalidate()
    {
        lock (_gate)
        {
            Volatile.Write(ref _table, null);
        }
    }

    private sealed record Table(Candidate[] Candidates, bool AnyDirect);

    private enum SegmentKind
    {
        Literal,
        Parameter,
        Optional,
        CatchAll,
    }

    private readonly record struct Segment(SegmentKind Kind, byte[] Literal);

    /// <summary>An endpoint's path pattern, in the simple shapes matched here; any other shape matches every path.</summary>
    private sealed class Candidate
    {
        private readonly Segment[]? _segments;

        private Candidate(Segment[]? segments, DirectRoute? route)
        {
            _segments = segments;
            Route = route;
        }

        public DirectRoute? Route { get; }

        public static Candidate From(RouteEndpoint endpoint)
        {
            var segments = Compile(endpoint.RoutePattern);
            var model = endpoint.Metadata.GetMetadata<RouteModel>();
            var direct = segments is not null && model is not null && IsPlainRoute(model.Config) && model.Cluster is not null
                ? new DirectRoute(model.Cluster)
                : null;
            return new Candidate(segments, direct);
        }

        public bool Matches(ReadOnlySpan<byte> path)
        {
            if (_segments is null)
            {
                return true;
            }

            // The path starts with '/'; "/" has no segments.
            var rest = path.Length <= 1 ? [] : path[1..];
            var atEnd = path.Length <= 1;
            foreach (var segment in _segments)
            {
                if (segment.Kind == SegmentKind.CatchAll)
                {
                    return true;
                }

                if (atEnd)
                {
                    if (segment.Kind == SegmentKind.Optional)
                    {
                        continue;
                    }

                    return false;
                }

                var slash = rest.IndexOf((byte)'/');
                var current = slash < 0 ? rest : rest[..slash];
                switch (segment.Kind)
                {
                    case SegmentKind.Literal when !Ascii.EqualsIgnoreCase(current, segment.Literal):
                    case SegmentKind.Parameter when current.IsEmpty:
                        return false;
                }

                if (slash < 0)
                {
                    atEnd = true;
                    rest = [];
                }
                else
                {
                    rest = rest[(slash + 1)..];
                }
            }

            return atEnd;
        }

        private static Segment[]? Compile(RoutePattern pattern)
        {
            if (pattern.ParameterPolicies.Count > 0)
            {
                return null;
            }

            var segments = new Segment[pattern.PathSegments.Count];
            for (var i = 0; i < segments.Length; i++)
            {
                var parts = pattern.PathSegments[i].Parts;
                if (parts.Count != 1)
                {
                    return null;
                }

                switch (parts[0])
                {
                    case RoutePatternLiteralPart literal:
                        segments[i] = new Segment(SegmentKind.Literal, Encoding.UTF8.GetBytes(literal.Content));
                        break;
                    case RoutePatternParameterPart parameter when parameter.ParameterPolicies.Count == 0:
                        if (parameter.IsCatchAll)
                        {
                            if (i != segments.Length - 1)
                            {
                                return null;
                            }

                            segments[i] = new Segment(SegmentKind.CatchAll, []);
                        }
                        else if (parameter.IsOptional || parameter.Default is not null)
                        {
                            segments[i] = new Segment(SegmentKind.Optional, []);
                        }
                        else
                        {
                            segments[i] = new Segment(SegmentKind.Parameter, []);
                        }

                        break;
                    default:
                        return null;
                }
            }

            // An optional segment is only simple when nothing but optional ones follow it.
            var seenOptional = false;
            foreach (var segment in segments)
            {
                if (seenOptional && segment.Kind is SegmentKind.Literal or SegmentKind.Parameter)
                {
                    return null;
                }

                seenOptional |= segment.Kind == SegmentKind.Optional;
            }

            return segments;
        }

        private static bool IsPlainRoute(RouteConfig route) =>
            route.Match.Methods is not { Count: > 0 }
            && route.Match.Hosts is not { Count: > 0 }
            && route.Match.Headers is not { Count: > 0 }
            && route.Match.QueryParameters is not { Count: > 0 }
            && route.Transforms is not { Count: > 0 }
            && route.AuthorizationPolicy is null
            && route.RateLimiterPolicy is null
            && route.CorsPolicy is null
            && route.TimeoutPolicy is null
            && route.Timeout is null
            && route.OutputCachePolicy is null;
    }
}

/// <summary>A YARP route the direct proxy may forward; its cluster is read live, as YARP updates it in place.</summary>
internal sealed class DirectRoute
{
    private readonly ClusterState _cluster;
    private ClusterModel? _checked;
    private DirectDestination? _destination;

    public DirectRoute(ClusterState cluster)
    {
        _cluster = cluster;
    }

    /// <summary>The cluster's single destination, or null when the cluster is not one the direct proxy forwards to.</summary>
    public DirectDestination? Destination
    {
        get
        {
            var model = _cluster.Model;
            if (!ReferenceEquals(model, Volatile.Read(ref _checked)))
            {
                var destination = DirectDestination.From(model.Config);
                Volatile.Write(ref _destination, destination);
                Volatile.Write(ref _checked, model);
                return destination;
            }

            return Volatile.Read(ref _destination);
        }
    }
}

/// <summary>Where and how a direct request is forwarded.</summary>
internal sealed class DirectDestination
{
    /// <summary>YARP's activity timeout when a cluster sets none.</summary>
    private static readonly TimeSpan YarpDefaultActivityTimeout = TimeSpan.FromSeconds(100);

    private DirectDestination(IPEndPoint endPoint, byte[] authority, byte[] pathPrefix, TimeSpan activityTimeout)
    {
        EndPoint = endPoint;
        Authority = authority;
        PathPrefix = pathPrefix;
        ActivityTimeout = activityTimeout;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The Host header YARP sends: the destination's authority.</summary>
    public byte[] Authority { get; }

    /// <summary>The destination address's path, without its trailing slash.</summary>
    public byte[] PathPrefix { get; }

    public TimeSpan ActivityTimeout { get; }

    public static DirectDestination? From(ClusterConfig cluster)
    {
        if (cluster.Destinations is not { Count: 1 } destinations
            || cluster.HealthCheck is { Active.Enabled: true } or { Passive.Enabled: true }
            || cluster.SessionAffinity is { Enabled: true }
            || cluster.HttpClient is { WebProxy: not null } or { RequestHeaderEncoding: not null } or { ResponseHeaderEncoding: not null }
            || cluster.HttpRequest is { } request && !IsHttp11(request))
        {
            return null;
        }

        var destination = destinations.Values.First();
        if (destination.Host is not null
            || !Uri.TryCreate(destination.Address, UriKind.Absolute, out var address)
            || address.Scheme != Uri.UriSchemeHttp
            || !string.IsNullOrEmpty(address.Query)
            || !TryGetAddress(address, out var ip))
        {
            return null;
        }

        return new DirectDestination(
            new IPEndPoint(ip, address.Port),
            Encoding.ASCII.GetBytes(address.Authority),
            Encoding.ASCII.GetBytes(address.AbsolutePath.TrimEnd('/')),
            cluster.HttpRequest?.ActivityTimeout ?? YarpDefaultActivityTimeout);
    }

    private static bool IsHttp11(Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig request) =>
        request.Version is null || request.Version <= HttpVersion.Version11 || request.VersionPolicy is null or HttpVersionPolicy.RequestVersionOrLower;

    /// <summary>
    /// Only IP literals: a name (even <c>localhost</c>, which may be served on ::1 only) needs
    /// resolving and trying each address in turn, which YARP's HttpClient does.
    /// </summary>
    private static bool TryGetAddress(Uri address, out IPAddress ip)
    {
        ip = IPAddress.None;
        return address.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && IPAddress.TryParse(address.IdnHost, out ip!);
    }
}
