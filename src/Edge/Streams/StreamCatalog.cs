using Edge.Configuration;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.Options;

namespace Edge.Streams;

/// <summary>
/// The configured streams, each built once, and the path matching that serves a stream request
/// straight off its connection. A path qualifies only when exactly one stream's route matches it
/// and no other edge endpoint has it, so the answer is the one endpoint routing would give.
/// </summary>
internal sealed class StreamCatalog
{
    private readonly Route[] _routes;
    private readonly HashSet<string> _reservedPaths;

    public StreamCatalog(IOptions<EdgeOptions> options)
    {
        var edge = options.Value;
        Streams = edge.Streams.Select(s => new StreamDefinition(s.Key, s.Value)).ToArray();
        _routes = Streams.Select(Route.Create).ToArray();
        _reservedPaths = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            edge.Health.LivePath.TrimEnd('/'),
            edge.Health.ReadyPath.TrimEnd('/'),
            edge.Metrics.Path.TrimEnd('/'),
            edge.Publish.Path.TrimEnd('/'),
        };
        if (!string.IsNullOrEmpty(edge.Metrics.JsonPath))
        {
            _reservedPaths.Add(edge.Metrics.JsonPath.TrimEnd('/'));
        }
    }

    public IReadOnlyList<StreamDefinition> Streams { get; }

    /// <summary>The stream a request for <paramref name="path"/> may be served off its connection by, with its route values; null when none may.</summary>
    public StreamRoute? Match(string path)
    {
        if (_reservedPaths.Contains(path.TrimEnd('/')))
        {
            return null;
        }

        StreamRoute? match = null;
        foreach (var route in _routes)
        {
            var values = new RouteValueDictionary();
            if (route.Matcher is null || !route.Matcher.TryMatch(path, values))
            {
                continue;
            }

            if (match is not null)
            {
                // Two streams match: routing's precedence decides, so Kestrel's pipeline serves it.
                return null;
            }

            match = new StreamRoute(route.Stream, values);
        }

        return match;
    }

    private sealed record Route(StreamDefinition Stream, TemplateMatcher? Matcher)
    {
        public static Route Create(StreamDefinition stream)
        {
            var pattern = RoutePatternFactory.Parse(stream.Path);

            // Constraints and complex segments are routing's to judge: such streams are served only through it.
            var simple = pattern.ParameterPolicies.Count == 0
                && pattern.PathSegments.All(s => s.IsSimple)
                && pattern.Parameters.All(p => p.ParameterPolicies.Count == 0);
            return new Route(stream, simple ? new TemplateMatcher(TemplateParser.Parse(stream.Path), new RouteValueDictionary(pattern.Defaults)) : null);
        }
    }
}

/// <summary>A stream path matched outside endpoint routing: the stream and the path's route values.</summary>
internal sealed record StreamRoute(StreamDefinition Stream, RouteValueDictionary Values);
