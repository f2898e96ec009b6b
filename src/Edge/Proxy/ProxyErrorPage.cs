using System.Net;
using Edge.Configuration;

namespace Edge.Proxy;

/// <summary>The HTML pages of <see cref="ProxyErrorResponder"/>.</summary>
internal static class ProxyErrorPage
{
    private const string Style = "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#1f2933}code{background:#f0f4f8;padding:.1rem .3rem;border-radius:4px}h1{font-size:1.6rem}li{margin:.3rem 0}";

    /// <summary>For a visitor of a production edge: what happened, nothing about the inside.</summary>
    public static string ForVisitors(ProxyFailure failure) => $"""
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>{failure.StatusText}</title><style>{Style}</style></head>
        <body><h1>{failure.StatusText}</h1><p>The application behind this site did not answer. Please try again in a moment.</p></body></html>
        """;

    /// <summary>For a newcomer running the default configuration (the demo is on): what the edge is, where the demo is, what to configure.</summary>
    public static string ForNewcomers(ProxyFailure failure, EdgeOptions options)
    {
        var destination = WebUtility.HtmlEncode(failure.Destination ?? "(no destination configured)");
        var cluster = WebUtility.HtmlEncode(failure.Cluster);
        var route = WebUtility.HtmlEncode(failure.Route);
        var demo = WebUtility.HtmlEncode(options.Demo.Path);
        var streams = string.Join(", ", options.Streams.Values.Select(s => $"<code>{WebUtility.HtmlEncode(s.Path)}</code>"));
        var publish = options.Publish.Enabled ? $"<li>The publish API, <code>POST {WebUtility.HtmlEncode(options.Publish.Path)}</code>, with a key from <code>Edge:Publish:ApiKeys</code>.</li>" : string.Empty;
        return $"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>{failure.StatusText}: the application behind the edge is not running</title><style>{Style}</style></head>
            <body>
            <h1>The edge is running; the application behind it is not</h1>
            <p>This is <b>Edge</b>: it proxies ordinary requests to your application with YARP and serves Server-Sent Events itself, from a broker.
            This request matched route <code>{route}</code>, whose cluster <code>{cluster}</code> sends it to <code>{destination}</code>, but {WebUtility.HtmlEncode(ProxyFailure.Describe(failure.Error))}: <b>{failure.StatusText}</b>.</p>
            <h2>See it work without an application</h2>
            <ul>
            <li>Open the demo: <a href="{demo}">{demo}</a>. Its buttons publish through the edge; its page shows the events live.</li>
            <li>The streams work now: {streams}.</li>
            {publish}
            </ul>
            <h2>Put your application behind it</h2>
            <ul>
            <li>Start it on <code>{destination}</code>, or</li>
            <li>point the cluster at it: <code>ReverseProxy:Clusters:{cluster}:Destinations</code> in the configuration file (<code>config/edge.json</code> by default, another with <code>--config</code>), or on the command line:
            <code>--ReverseProxy:Clusters:{cluster}:Destinations:app1:Address=http://127.0.0.1:3000</code>.</li>
            <li>Turn the demo off for production: <code>Edge:Demo:Enabled=false</code>; this page then says only that the application did not answer.</li>
            </ul>
            <p>API clients (no <code>Accept: text/html</code>) get the same answer as <code>application/problem+json</code>.</p>
            </body></html>
            """;
    }
}
