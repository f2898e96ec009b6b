using Edge.Diagnostics;
using Yarp.ReverseProxy.Forwarder;

namespace Edge.Proxy;

/// <summary>Counts proxied requests YARP could not complete (<c>edge.proxy.errors</c>, by YARP's error), for <see cref="ProxyErrorResponder"/>.</summary>
internal static class ProxyErrorCounting
{
    /// <summary>Counts the request's forwarding error, if it has one.</summary>
    public static void Count(HttpContext context, EdgeMetrics metrics)
    {
        if (context.Features.Get<IForwarderErrorFeature>() is { } error && error.Error != ForwarderError.None)
        {
            metrics.ProxyError(ErrorTag(error.Error));
        }
    }

    /// <summary>YARP's error as a tag value, e.g. <c>request_timed_out</c>, <c>no_available_destinations</c>.</summary>
    private static string ErrorTag(ForwarderError error) => error switch
    {
        ForwarderError.Request => "request",
        ForwarderError.RequestTimedOut => "request_timed_out",
        ForwarderError.RequestCanceled => "request_canceled",
        ForwarderError.RequestBodyCanceled => "request_body_canceled",
        ForwarderError.RequestBodyClient => "request_body_client",
        ForwarderError.RequestBodyDestination => "request_body_destination",
        ForwarderError.ResponseBodyCanceled => "response_body_canceled",
        ForwarderError.ResponseBodyClient => "response_body_client",
        ForwarderError.ResponseBodyDestination => "response_body_destination",
        ForwarderError.ResponseHeaders => "response_headers",
        ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeRequestClient or ForwarderError.UpgradeRequestDestination
            or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient or ForwarderError.UpgradeResponseDestination => "upgrade",
        ForwarderError.NoAvailableDestinations => "no_available_destinations",
        _ => "other",
    };
}
