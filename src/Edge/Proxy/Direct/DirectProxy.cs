using System.Net.Sockets;
using Edge.Configuration;
using Edge.Diagnostics;
using Edge.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Edge.Proxy.Direct;

/// <summary>
/// The direct proxy: plain HTTP/1.1 GET and HEAD requests for a YARP route it can forward
/// exactly as YARP would (see <see cref="DirectProxyRoutes"/>) are forwarded by its event loops
/// instead of going through Kestrel, ASP.NET routing and YARP's HttpClient. A connection stays
/// with its loop while its requests qualify; the first request that does not is left unread for
/// Kestrel, which serves that connection from then on.
/// </summary>
internal sealed partial class DirectProxy : IDisposable
{
    private readonly DirectProxyRoutes _routes;
    private readonly EdgeMetrics _metrics;
    private readonly ILogger<DirectProxy> _logger;
    private readonly int _loopCount;
    private readonly object _gate = new();
    private ProxyEventLoop[]? _loops;
    private int _next;
    private volatile bool _stopping;

    public DirectProxy(DirectProxyRoutes routes, IOptions<EdgeOptions> options, IOptions<KestrelServerOptions> kestrel, EdgeMetrics metrics, IHostApplicationLifetime lifetime, ILogger<DirectProxy> logger)
    {
        _routes = routes;
        _metrics = metrics;
        _logger = logger;
        var proxy = options.Value.Proxy;
        // A compressing edge compresses proxied responses in its middleware, which the direct path bypasses.
        Enabled = proxy.Direct && Epoll.IsSupported && !options.Value.ResponseCompression.Enabled;
        _loopCount = proxy.DirectLoops > 0 ? proxy.DirectLoops : Math.Max(1, Environment.ProcessorCount / 4);
        KeepAliveTimeout = kestrel.Value.Limits.KeepAliveTimeout;
        RequestHeadersTimeout = kestrel.Value.Limits.RequestHeadersTimeout;
        Match = _routes.Match;
        lifetime.ApplicationStopping.Register(Stop);
    }

    public bool Enabled { get; }

    public bool Stopping => _stopping;

    /// <summary>Kestrel's keep-alive timeout: how long a connection may wait for its next request.</summary>
    public TimeSpan KeepAliveTimeout { get; }

    /// <summary>Kestrel's limit for receiving a request head; a slower head is handed to Kestrel.</summary>
    public TimeSpan RequestHeadersTimeout { get; }

    public Func<ReadOnlySpan<byte>, DirectRoute?> Match { get; }

    /// <summary>
    /// Takes a freshly accepted connection whose first bytes look like a GET or HEAD; the loop
    /// decides on the whole head and hands the connection to <paramref name="toKestrel"/> when it
    /// does not forward it.
    /// </summary>
    public bool TryTake(Socket socket, Action<Socket> toKestrel)
    {
        if (!Enabled || _stopping || !_routes.Any)
        {
            return false;
        }

        Span<byte> first = stackalloc byte[5];
        var peeked = socket.Receive(first, SocketFlags.Peek, out var error);
        if (error != SocketError.Success || peeked < 4 || !(first.StartsWith("GET "u8) || (peeked == 5 && first.StartsWith("HEAD "u8))))
        {
            return false;
        }

        var loops = _loops ?? StartLoops();
        var loop = loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)loops.Length)];
        socket.Blocking = false;
        if (!loop.Adopt(socket, toKestrel))
        {
            socket.Blocking = true;
            return false;
        }

        return true;
    }

    public void Stop()
    {
        _stopping = true;
        if (_loops is { } loops)
        {
            foreach (var loop in loops)
            {
                loop.Stop();
            }
        }
    }

    public void Dispose() => Abort();

    /// <summary>Cuts every connection (the host's shutdown timeout has passed).</summary>
    public void Abort()
    {
        _stopping = true;
        if (_loops is { } loops)
        {
            foreach (var loop in loops)
            {
                loop.Abort();
            }
        }
    }

    /// <summary>
    /// After <see cref="Stop"/>: completes once every request in flight has been answered (idle
    /// connections are closed at once, busy ones after their response), as Kestrel drains its own.
    /// </summary>
    public Task WhenDrained()
    {
        lock (_gate)
        {
            return _loops is { } loops ? Task.WhenAll(loops.Select(l => l.Exited)) : Task.CompletedTask;
        }
    }

    public void Forwarding() => _metrics.DirectProxyRequest();

    public void UpstreamFailed(DirectDestination destination, string reason)
    {
        _metrics.DirectProxyFailure();
        Log.UpstreamFailed(_logger, destination.EndPoint.ToString(), reason);
    }

    public void UpstreamTimedOut(DirectDestination destination)
    {
        _metrics.DirectProxyFailure();
        Log.UpstreamTimedOut(_logger, destination.EndPoint.ToString(), destination.ActivityTimeout);
    }

    public void Failed(Exception exception) => Log.LoopFailed(_logger, exception);

    private ProxyEventLoop[] StartLoops()
    {
        lock (_gate)
        {
            if (_loops is null)
            {
                var loops = new ProxyEventLoop[_loopCount];
                for (var i = 0; i < loops.Length; i++)
                {
                    loops[i] = new ProxyEventLoop(this, i);
                }

                _loops = loops;
                if (_stopping)
                {
                    Stop();
                }
            }

            return _loops;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.DirectProxyUpstreamFailed, Level = LogLevel.Warning, Message = "Forwarding a request to {Destination} failed: {Reason}")]
        public static partial void UpstreamFailed(ILogger logger, string destination, string reason);

        [LoggerMessage(EventId = EdgeEventIds.DirectProxyUpstreamTimedOut, Level = LogLevel.Warning, Message = "{Destination} was silent longer than the activity timeout ({Timeout}); the request was cut")]
        public static partial void UpstreamTimedOut(ILogger logger, string destination, TimeSpan timeout);

        [LoggerMessage(EventId = EdgeEventIds.DirectProxyFailed, Level = LogLevel.Error, Message = "A direct proxy connection failed; it was closed")]
        public static partial void LoopFailed(ILogger logger, Exception exception);
    }
}
