using System.Net;
using Edge.Configuration;
using Edge.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Edge.Proxy;

/// <summary>
/// The first step of YARP's pipeline: when forwarding failed before any byte of an answer was
/// sent (the upstream is not running, refused, timed out), YARP leaves an empty 502/503/504. This
/// fills it: problem+json naming the route, cluster and error for API clients, and for a browser
/// asking for HTML a page saying what happened (with the demo on, what the edge is and what to
/// configure; without it, nothing about the inside).
/// </summary>
internal sealed class ProxyErrorResponder(IOptions<EdgeOptions> options, Diagnostics.EdgeMetrics metrics)
{
    private readonly EdgeOptions _options = options.Value;

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        await next().ConfigureAwait(false);
        ProxyErrorCounting.Count(context, metrics);
        if (context.Response.HasStarted || context.GetForwarderErrorFeature() is not { } error)
        {
            return;
        }

        var proxy = context.GetReverseProxyFeature();
        var failure = new ProxyFailure(
            context.Response.StatusCode is >= 500 and < 600 ? context.Response.StatusCode : StatusCodes.Status502BadGateway,
            proxy.Route.Config.RouteId,
            proxy.Cluster?.Config.ClusterId ?? proxy.Route.Config.ClusterId ?? "(none)",
            proxy.ProxiedDestination?.Model.Config.Address ?? FirstDestination(proxy.Cluster),
            error.Error);

        if (AcceptsHtml(context.Request))
        {
            context.Response.StatusCode = failure.Status;
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-store";
            await context.Response.WriteAsync(_options.Demo.Enabled ? ProxyErrorPage.ForNewcomers(failure, _options) : ProxyErrorPage.ForVisitors(failure), context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var address = _options.Demo.Enabled && failure.Destination is not null ? $" at {failure.Destination}" : string.Empty;
        await ProblemResponses.WriteAsync(
            context,
            failure.Status,
            ReasonPhrases(failure.Status),
            $"The upstream of route '{failure.Route}' (cluster '{failure.Cluster}'){address} did not answer: {ProxyFailure.Describe(failure.Error)} (YARP ForwarderError.{failure.Error}).").ConfigureAwait(false);
    }

    private static string? FirstDestination(ClusterModel? cluster)
    {
        if (cluster?.Config.Destinations is { Count: > 0 } destinations)
        {
            foreach (var destination in destinations.Values)
            {
                return destination.Address;
            }
        }

        return null;
    }

    private static bool AcceptsHtml(HttpRequest request)
    {
        foreach (var value in request.Headers.Accept)
        {
            if (value is not null && MediaTypeHeaderValue.TryParseList([value], out var types))
            {
                foreach (var type in types)
                {
                    if (type.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase) && (type.Quality ?? 1) > 0)
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    private static string ReasonPhrases(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Upstream error";
}

/// <summary>What failed when a request could not be forwarded.</summary>
internal sealed record ProxyFailure(int Status, string Route, string Cluster, string? Destination, ForwarderError Error)
{
    public static string Describe(ForwarderError error) => error switch
    {
        ForwarderError.Request => "the connection to it failed or was refused (is it running?)",
        ForwarderError.RequestTimedOut => "it did not answer in time",
        ForwarderError.NoAvailableDestinations => "no destination is healthy or configured",
        ForwarderError.RequestCanceled => "the request was canceled",
        ForwarderError.RequestBodyClient or ForwarderError.RequestBodyCanceled => "the client's request body could not be read",
        ForwarderError.RequestBodyDestination => "it stopped reading the request body",
        ForwarderError.ResponseHeaders => "its answer could not be read",
        _ => "forwarding failed",
    };

    public string StatusText => $"{Status} {WebUtility.HtmlEncode(Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(Status))}";
}
