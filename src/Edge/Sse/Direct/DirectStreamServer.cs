using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Edge.Diagnostics;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Edge.Sse.Direct;

/// <summary>
/// Serves a stream on a freshly accepted socket whose first request is a simple HTTP/1.1 GET of
/// a stream, without Kestrel: no connection pipes, no HTTP/1 parser state, no per-request
/// context kept while the stream is open (together about 9 KB per stream), and events sent
/// straight to the socket. The request goes through the same CORS policy, admission, replay and
/// framing as one that Kestrel serves. A socket whose first bytes are anything else is left
/// untouched (its bytes are only peeked at) for Kestrel.
/// </summary>
internal sealed partial class DirectStreamServer
{
    /// <summary>A client that sends its head in pieces is looked at this many times, then left to Kestrel.</summary>
    private const int MaxPeeks = 4;

    private readonly StreamCatalog _catalog;
    private readonly Func<string, StreamRoute?> _matchStream;
    private readonly SseStreamEndpoint _endpoint;
    private readonly ClientDepartureWatcher _departures;
    private readonly ICorsService _cors;
    private readonly ICorsPolicyProvider _corsPolicies;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _headTimeout;
    private readonly ILogger<DirectStreamServer> _logger;

    public DirectStreamServer(
        StreamCatalog catalog,
        SseStreamEndpoint endpoint,
        ClientDepartureWatcher departures,
        ICorsService cors,
        ICorsPolicyProvider corsPolicies,
        IServiceProvider services,
        IOptions<KestrelServerOptions> kestrel,
        TimeProvider timeProvider,
        ILogger<DirectStreamServer> logger)
    {
        _catalog = catalog;
        _matchStream = catalog.Match;
        _endpoint = endpoint;
        _departures = departures;
        _cors = cors;
        _corsPolicies = corsPolicies;
        _services = services;
        _timeProvider = timeProvider;
        _headTimeout = kestrel.Value.Limits.RequestHeadersTimeout;
        _logger = logger;
    }

    /// <summary>
    /// Serves the socket's stream to its end and closes the socket, or returns false at once,
    /// having consumed nothing, when the socket is Kestrel's to serve.
    /// </summary>
    public async Task<bool> TryServeAsync(Socket socket, CancellationToken cancellationToken)
    {
        if (_catalog.Streams.Count == 0)
        {
            return false;
        }

        socket.Blocking = false;
        var (head, length) = await PeekHeadAsync(socket, cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            socket.Blocking = true;
            return false;
        }

        using var closed = new CancellationTokenSource();
        var output = new SocketBodyWriter(socket);
        try
        {
            await ConsumeAsync(socket, length, cancellationToken).ConfigureAwait(false);
            using var watch = _departures.TryAdd(socket, closed);
            if (watch is null)
            {
                _ = WatchForCloseAsync(socket, closed);
            }

            var open = await OpenAsync(socket, output, head, closed).ConfigureAwait(false);

            // An open stream may last for days: keep nothing of its request.
            head = null;
            if (open is not null)
            {
                await _endpoint.ServeAsync(open).ConfigureAwait(false);
            }

            await output.FlushAsync(closed.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // The client went away.
        }
        catch (Exception ex)
        {
            Log.Failed(_logger, socket.RemoteEndPoint?.ToString(), ex);
        }
        finally
        {
            try
            {
                await output.CompleteAsync().ConfigureAwait(false);
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or OperationCanceledException)
            {
            }

            socket.Dispose();
        }

        return true;
    }

    /// <summary>Looks at the first bytes without taking them; returns the head and its length when it is a stream GET.</summary>
    private async Task<(RequestHead? Head, int Length)> PeekHeadAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(RequestHead.MaxHeadBytes + 1);
        try
        {
            // The listener defers accepting until the first bytes are in, so most heads can be
            // read at once, without a wait (and without its timer).
            var ready = socket.Receive(buffer, 0, RequestHead.MaxHeadBytes + 1, SocketFlags.Peek, out var error);
            if (error is not (SocketError.Success or SocketError.WouldBlock) || (error == SocketError.Success && ready == 0))
            {
                return (null, 0);
            }

            if (error == SocketError.Success && TryDecide(buffer, ready, out var decided))
            {
                return decided;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_headTimeout);
            for (var peek = 0; peek < MaxPeeks; peek++)
            {
                int received;
                try
                {
                    received = await socket.ReceiveAsync(buffer.AsMemory(0, RequestHead.MaxHeadBytes + 1), SocketFlags.Peek, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException)
                {
                    // Silent too long, or gone: Kestrel applies its own rules from the first byte.
                    return (null, 0);
                }

                if (received == 0)
                {
                    return (null, 0);
                }

                if (TryDecide(buffer, received, out decided))
                {
                    return decided;
                }

                // The rest of the head is on its way.
                await Task.Delay(TimeSpan.FromMilliseconds(5 << peek), _timeProvider, cancellationToken).ConfigureAwait(false);
            }

            return (null, 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Whether the bytes so far settle it: a stream head (with its length) or Kestrel's connection.</summary>
    private bool TryDecide(byte[] buffer, int received, out (RequestHead? Head, int Length) decided)
    {
        var outcome = RequestHead.Read(new ReadOnlySequence<byte>(buffer, 0, received), _matchStream, out var head, out var length);
        decided = outcome == HeadReadResult.Stream ? (head, length) : (null, 0);
        return outcome != HeadReadResult.Incomplete;
    }

    private static async Task ConsumeAsync(Socket socket, int length, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var taken = socket.Receive(buffer, 0, length, SocketFlags.None, out var error);
            if (error is not (SocketError.Success or SocketError.WouldBlock))
            {
                throw new SocketException((int)error);
            }

            while (taken < length)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(taken, length - taken), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (received == 0)
                {
                    throw new IOException("The client closed the connection while its request was read.");
                }

                taken += received;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Where the departure watcher cannot run: reads (and drops) whatever the client sends until it closes the connection, then signals the stream.</summary>
    private static async Task WatchForCloseAsync(Socket socket, CancellationTokenSource closed)
    {
        var sink = new byte[16];
        try
        {
            while (await socket.ReceiveAsync(sink.AsMemory(), SocketFlags.None).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        try
        {
            closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Builds the request for the endpoint, applies the stream's CORS policy and opens the stream; the request is dropped afterwards.</summary>
    private async Task<OpenStream?> OpenAsync(Socket socket, SocketBodyWriter output, RequestHead head, CancellationTokenSource closed)
    {
        var stream = head.Route.Stream;
        var exchange = new DirectExchange(output, _timeProvider);
        var remote = socket.RemoteEndPoint as IPEndPoint;
        var local = socket.LocalEndPoint as IPEndPoint;
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
        features.Set<IHttpRequestLifetimeFeature>(new SocketLifetime(socket, closed.Token));
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            RemoteIpAddress = remote?.Address,
            RemotePort = remote?.Port ?? 0,
            LocalIpAddress = local?.Address,
            LocalPort = local?.Port ?? 0,
        });
        features.Set<IRouteValuesFeature>(new RouteValuesFeature { RouteValues = head.Route.Values });
        features.Set<IServiceProvidersFeature>(new ServiceProvidersFeature(_services));
        var context = new DefaultHttpContext(features);

        if (context.Request.Headers.ContainsKey(HeaderNames.Origin)
            && await _corsPolicies.GetPolicyAsync(context, stream.Options.CorsPolicy).ConfigureAwait(false) is { } policy)
        {
            _cors.ApplyResult(_cors.EvaluatePolicy(context, policy), context.Response);
        }

        return await _endpoint.OpenAsync(context, stream, output).ConfigureAwait(false);
    }

    private sealed class ServiceProvidersFeature(IServiceProvider services) : IServiceProvidersFeature
    {
        public IServiceProvider RequestServices { get; set; } = services;
    }

    /// <summary>The request's lifetime is the connection's: it ends when the client leaves, and aborting closes the socket.</summary>
    private sealed class SocketLifetime(Socket socket, CancellationToken closed) : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted
        {
            get => closed;
            set => throw new NotSupportedException("A stream's lifetime is its connection's.");
        }

        public void Abort()
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.DirectStreamFailed, Level = LogLevel.Error, Message = "The stream served to {RemoteEndPoint} failed; the connection was closed")]
        public static partial void Failed(ILogger logger, string? remoteEndPoint, Exception exception);
    }
}
