using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Edge.Diagnostics;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Edge.Sse.Direct;

/// <summary>
/// A Kestrel connection middleware: when a plain-text connection's first request is a simple
/// HTTP/1.1 GET of a stream, the stream is served right here, without Kestrel's per-request HTTP
/// machinery (about 9 KB per open request), and its events are sent straight to the socket.
/// The request goes through the same CORS policy, admission, replay and framing as any other.
/// Every other connection is handed to Kestrel untouched, with nothing read from it.
/// </summary>
internal sealed partial class DirectStreamConnections
{
    private readonly StreamCatalog _catalog;
    private readonly SseStreamEndpoint _endpoint;
    private readonly ICorsService _cors;
    private readonly ICorsPolicyProvider _corsPolicies;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _headTimeout;
    private readonly ILogger<DirectStreamConnections> _logger;

    public DirectStreamConnections(
        StreamCatalog catalog,
        SseStreamEndpoint endpoint,
        ICorsService cors,
        ICorsPolicyProvider corsPolicies,
        IServiceProvider services,
        IOptions<KestrelServerOptions> kestrel,
        TimeProvider timeProvider,
        ILogger<DirectStreamConnections> logger)
    {
        _catalog = catalog;
        _endpoint = endpoint;
        _cors = cors;
        _corsPolicies = corsPolicies;
        _services = services;
        _timeProvider = timeProvider;
        _headTimeout = kestrel.Value.Limits.RequestHeadersTimeout;
        _logger = logger;
    }

    public ConnectionDelegate Wrap(ConnectionDelegate next) => connection => OnConnectionAsync(connection, next);

    private async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (socket is null || _catalog.Streams.Count == 0)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        var head = await ReadHeadAsync(connection).ConfigureAwait(false);
        if (head is null)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        // The socket is ours from here on; Kestrel still reads it (and so sees the client leave).
        var output = PipeWriter.Create(new NetworkStream(socket, ownsSocket: false), new StreamPipeWriterOptions(leaveOpen: true));
        try
        {
            socket.Blocking = false;
            if (await OpenAsync(connection, socket, output, head).ConfigureAwait(false) is { } open)
            {
                await _endpoint.ServeAsync(open).ConfigureAwait(false);
            }

            await output.FlushAsync(connection.ConnectionClosed).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // The client went away.
        }
        catch (Exception ex)
        {
            Log.Failed(_logger, connection.ConnectionId, head.Path, ex);
        }
        finally
        {
            try
            {
                await output.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or OperationCanceledException)
            {
            }
        }
    }

    /// <summary>
    /// Reads the first request's head when it is a stream GET (consuming it); otherwise leaves
    /// every byte in place and returns null.
    /// </summary>
    private async Task<RequestHead?> ReadHeadAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        using var timeout = new CancellationTokenSource(_headTimeout, _timeProvider);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Too slow to say what it wants: Kestrel applies its own timeouts from here.
                return null;
            }

            var buffer = result.Buffer;
            var outcome = RequestHead.Read(buffer, _catalog.IsDirectPath, out var head);
            if (outcome == HeadReadResult.Incomplete && !result.IsCompleted && !result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            if (outcome != HeadReadResult.Stream)
            {
                input.AdvanceTo(buffer.Start);
                return null;
            }

            input.AdvanceTo(buffer.End);
            return head;
        }
    }

    /// <summary>Builds the request for the endpoint, applies the stream's CORS policy and opens the stream; the request is dropped afterwards.</summary>
    private async Task<OpenStream?> OpenAsync(ConnectionContext connection, Socket socket, PipeWriter output, RequestHead head)
    {
        if (!_catalog.TryMatch(head.Path, out var stream, out var routeValues))
        {
            throw new InvalidOperationException($"The path {head.Path} matched a stream while reading and none after.");
        }

        var exchange = new DirectExchange(connection, output, _timeProvider);
        var features = new FeatureCollection(10);
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Protocol = "HTTP/1.1",
            Scheme = "http",
            Method = HttpMethods.Get,
            PathBase = string.Empty,
            Path = head.Path,
            QueryString = head.QueryString,
            RawTarget = head.RawTarget,
            Headers = head.Headers,
        });
        features.Set<IHttpResponseFeature>(exchange);
        features.Set<IHttpResponseBodyFeature>(exchange);
        features.Set<IHttpRequestLifetimeFeature>(exchange);
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            ConnectionId = connection.ConnectionId,
            RemoteIpAddress = (connection.RemoteEndPoint as IPEndPoint)?.Address,
            RemotePort = (connection.RemoteEndPoint as IPEndPoint)?.Port ?? 0,
            LocalIpAddress = (connection.LocalEndPoint as IPEndPoint)?.Address,
            LocalPort = (connection.LocalEndPoint as IPEndPoint)?.Port ?? 0,
        });
        features.Set<IRouteValuesFeature>(new RouteValuesFeature { RouteValues = routeValues });
        features.Set<IServiceProvidersFeature>(new ServiceProvidersFeature(_services));
        var context = new DefaultHttpContext(features);

        if (context.Request.Headers.ContainsKey(HeaderNames.Origin)
            && await _corsPolicies.GetPolicyAsync(context, stream.Options.CorsPolicy).ConfigureAwait(false) is { } policy)
        {
            _cors.ApplyResult(_cors.EvaluatePolicy(context, policy), context.Response);
        }

        return await _endpoint.OpenAsync(context, stream, socket).ConfigureAwait(false);
    }

    private sealed class ServiceProvidersFeature(IServiceProvider services) : IServiceProvidersFeature
    {
        public IServiceProvider RequestServices { get; set; } = services;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.DirectStreamFailed, Level = LogLevel.Error, Message = "The stream request {ConnectionId} for {Path} failed; the connection was closed")]
        public static partial void Failed(ILogger logger, string connectionId, string path, Exception exception);
    }
}
