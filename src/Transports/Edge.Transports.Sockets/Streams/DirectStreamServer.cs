using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http.Features;
using Edge.Transports;

namespace Edge.Transports.Sockets;

/// <summary>
/// Serves a stream on a freshly accepted socket whose first request is a simple HTTP/1.1 GET of
/// a stream, without Kestrel: no connection pipes, no HTTP/1 parser state, no per-request
/// context kept while the stream is open (bench/README.md has what that saves), and events sent
/// straight to the socket. The host opens the stream (<see cref="IDirectStreamEndpoint"/>) through
/// the same checks, admission, replay and framing as one that Kestrel serves. A socket whose first bytes are anything else is left
/// untouched (its bytes are only peeked at) for Kestrel.
/// </summary>
internal sealed partial class DirectStreamServer(
    IDirectStreamEndpoint endpoint,
    HeadClassifier classifier,
    ClientDepartureWatcher departures,
    IServiceProvider services,
    TimeProvider timeProvider,
    ILogger<DirectStreamServer> logger)
{
    /// <summary>
    /// Serves the socket's stream to its end and closes the socket, or returns false at once,
    /// having consumed nothing, when the socket is Kestrel's to serve.
    /// </summary>
    public async Task<bool> TryServeAsync(Socket socket, CancellationToken cancellationToken)
    {
        if (!endpoint.HasStreams)
        {
            return false;
        }

        socket.Blocking = false;
        var (head, length) = await classifier.ClassifyAsync(socket, cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            // As Kestrel's own transport hands sockets over; Kestrel only uses asynchronous calls.
            socket.Blocking = true;
            return false;
        }

        using var closed = new CancellationTokenSource();
        var output = new SocketBodyWriter(socket);
        try
        {
            await ConsumeAsync(socket, length, cancellationToken).ConfigureAwait(false);
            using var watch = departures.TryAdd(socket, closed);
            if (watch is null)
            {
                _ = WatchForCloseAsync(socket, closed);
            }

            var open = await OpenAsync(socket, output, head, closed).ConfigureAwait(false);

            // An open stream may last for days: keep nothing of its request.
            head = null;
            if (open is not null)
            {
                await open.ServeAsync().ConfigureAwait(false);
            }

            await output.FlushAsync(closed.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // The client went away.
        }
        catch (Exception ex)
        {
            Log.Failed(logger, socket.RemoteEndPoint?.ToString(), ex);
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
    private async Task<IOpenedStream?> OpenAsync(Socket socket, SocketBodyWriter output, RequestHead head, CancellationTokenSource closed)
    {
        var exchange = new DirectExchange(output, timeProvider);
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
        features.Set<IServiceProvidersFeature>(new ServiceProvidersFeature(services));
        features.Set<IConnectionTransport>(new SocketStreamTransport(exchange.Writer, output));
        var opened = await endpoint.OpenAsync(new DefaultHttpContext(features), head.Route).ConfigureAwait(false);
        if (opened is null && !exchange.HasStarted)
        {
            // Answered without a body (a refusal by status only, host filtering): the head still goes out.
            await exchange.StartAsync().ConfigureAwait(false);
        }

        return opened;
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
        [LoggerMessage(EventId = SocketEventIds.DirectStreamFailed, Level = LogLevel.Error, Message = "The stream served to {RemoteEndPoint} failed; the connection was closed")]
        public static partial void Failed(ILogger logger, string? remoteEndPoint, Exception exception);
    }
}
