using Microsoft.AspNetCore.Http;

namespace Edge.Transports;

/// <summary>
/// What a transport that reads requests below Kestrel needs from the host: which paths are
/// streams, and a way to open one from a request it built itself. The host runs such a request
/// through everything a request Kestrel serves goes through (host filtering, forwarded headers,
/// CORS, admission), so both answer alike.
/// </summary>
public interface IDirectStreamEndpoint
{
    /// <summary>Whether the host serves any stream at all.</summary>
    bool HasStreams { get; }

    /// <summary>The stream a request path names, as a token to hand to <see cref="OpenAsync"/>; null for any other path.</summary>
    object? Match(string path);

    /// <summary>
    /// Runs a request for a path that <see cref="Match"/> accepted up to its live stream (refusals,
    /// the hello, the replay). Null when the request was answered in full. The request and its
    /// context are not used once this returns, so an open stream keeps none of them.
    /// </summary>
    /// <param name="stream">What <see cref="Match"/> returned for the request's path.</param>
    Task<IOpenedStream?> OpenAsync(HttpContext context, object stream);
}

/// <summary>A stream past its opening, to be served until it ends.</summary>
public interface IOpenedStream
{
    /// <summary>Delivers events until the client leaves, the stream is closed or the host drains.</summary>
    Task ServeAsync();
}
