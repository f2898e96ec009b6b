using System.Net;
using System.Reflection;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Edge.Transports.Sockets;

/// <summary>
/// Kestrel's socket transport with one step in front: each accepted TCP connection is first
/// offered to <see cref="DirectStreamServer"/>, which keeps it only when its first request is
/// a plain stream GET. Every other connection becomes an ordinary Kestrel connection (the same
/// <see cref="SocketConnectionContextFactory"/> Kestrel uses), with its bytes still unread.
/// Endpoints other than IP (Unix sockets, inherited handles) and those in
/// <see cref="KestrelOnlyEndpoints"/> (TLS, cleartext HTTP/2) use Kestrel's transport as is.
/// </summary>
internal sealed partial class EdgeSocketTransportFactory(IOptions<SocketTransportOptions> options, IServiceProvider services, ILoggerFactory loggerFactory, KestrelOnlyEndpoints kestrelOnly) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    /// <summary>
    /// Kestrel's connections must use its pinned block pool (its HTTP/1 chunked writer fails on
    /// the plain array pool that <see cref="SocketConnectionFactoryOptions"/> defaults to), and
    /// that option can only be set by reflection. Without it this transport binds nothing and
    /// Kestrel's own transport serves every endpoint, streams included.
    /// </summary>
    private static readonly PropertyInfo? MemoryPoolFactoryOption =
        typeof(SocketConnectionFactoryOptions).GetProperty("MemoryPoolFactory", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);

    private const int IpProtoTcp = 6;
    private const int TcpDeferAccept = 9;
    private const int DeferAcceptSeconds = 5;

    /// <summary>More accept threads would mostly wait (bench/README.md has the open rate of one).</summary>
    private const int MaxAcceptThreads = 8;

    private readonly SocketTransportOptions _options = options.Value;
    private readonly IMemoryPoolFactory<byte>? _memoryPoolFactory = services.GetService<IMemoryPoolFactory<byte>>();

    public bool CanBind(EndPoint endpoint) =>
        endpoint is IPEndPoint && !kestrelOnly.Contains(endpoint) && _memoryPoolFactory is not null && MemoryPoolFactoryOption is { CanWrite: true } option && option.PropertyType.IsInstanceOfType(_memoryPoolFactory);

    /// <remarks>Binding happens after the options were validated, so the stream server is resolved only here.</remarks>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        // Linux copies TCP_NODELAY from the listening socket to every accepted one: set once on
        // the listener, it saves a system call per connection.
        var acceptedInheritNoDelay = OperatingSystem.IsLinux();
        Socket socket;
        try
        {
            socket = _options.CreateBoundListenSocket(endpoint);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new AddressInUseException(ex.Message, ex);
        }

        try
        {
            if (OperatingSystem.IsLinux())
            {
                // TCP_DEFER_ACCEPT: a connection is accepted once its first bytes arrived, so the
                // first look at them needs no wait, and a silent connection costs nothing here.
                socket.SetRawSocketOption(IpProtoTcp, TcpDeferAccept, BitConverter.GetBytes(DeferAcceptSeconds));
            }

            if (acceptedInheritNoDelay)
            {
                socket.NoDelay = _options.NoDelay;
            }

            socket.Listen(_options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var factoryOptions = new SocketConnectionFactoryOptions
        {
            IOQueueCount = _options.IOQueueCount,
            WaitForDataBeforeAllocatingBuffer = _options.WaitForDataBeforeAllocatingBuffer,
            MaxReadBufferSize = _options.MaxReadBufferSize,
            MaxWriteBufferSize = _options.MaxWriteBufferSize,
            UnsafePreferInlineScheduling = _options.UnsafePreferInlineScheduling,
        };
        MemoryPoolFactoryOption!.SetValue(factoryOptions, _memoryPoolFactory);
        var factory = new SocketConnectionContextFactory(
            factoryOptions,
            loggerFactory.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        return ValueTask.FromResult<IConnectionListener>(new Listener(socket, factory, services.GetRequiredService<DirectStreamServer>(), _options.NoDelay && !acceptedInheritNoDelay, loggerFactory.CreateLogger<EdgeSocketTransportFactory>()));
    }

    private sealed partial class Listener : IConnectionListener
    {
        private readonly Socket _socket;
        private readonly SocketConnectionContextFactory _factory;
        private readonly DirectStreamServer _direct;
        private readonly bool _noDelayPerConnection;
        private readonly ILogger _logger;
        private readonly Channel<Socket> _forKestrel = Channel.CreateUnbounded<Socket>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
        private readonly CancellationTokenSource _stopping = new();
        private readonly Task _acceptLoops;
        private readonly TaskCompletionSource _served = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // Connections being looked at or served, plus one for the listener until it is unbound.
        private int _active = 1;
        private int _unbound;

        public Listener(Socket socket, SocketConnectionContextFactory factory, DirectStreamServer direct, bool noDelayPerConnection, ILogger logger)
        {
            _socket = socket;
            _factory = factory;
            _direct = direct;
            _noDelayPerConnection = noDelayPerConnection;
            _logger = logger;
            EndPoint = socket.LocalEndPoint!;
            // One accept thread per two cores (1 to 8), each serving what it accepts until that first
            // awaits (for a stream, until it is open): no hand-off to another thread per connection.
            // The other cores send events. Fewer accept threads cost less CPU per open for the same
            // wall time (fewer context switches; measured in bench/README.md).
            _acceptLoops = RunAcceptLoopsAsync(Math.Clamp(Environment.ProcessorCount / 2, 1, MaxAcceptThreads));
        }

        public EndPoint EndPoint { get; }

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                var socket = await _forKestrel.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                return _factory.Create(socket);
            }
            catch (ChannelClosedException)
            {
                return null;
            }
        }

        /// <summary>
        /// Stops accepting, then waits (as Kestrel does for its own connections, until the host's
        /// shutdown timeout) for the streams served here, which the hub's drain is closing.
        /// </summary>
        public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            _socket.Dispose();
            await _acceptLoops.ConfigureAwait(false);
            if (Interlocked.Exchange(ref _unbound, 1) == 0)
            {
                Leave();
            }

            try
            {
                await _served.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The host's shutdown timeout: the hub's drain closes what is still open.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await UnbindAsync().ConfigureAwait(false);
            while (_forKestrel.Reader.TryRead(out var socket))
            {
                socket.Dispose();
            }

            _factory.Dispose();
            _stopping.Dispose();
        }

        private async Task RunAcceptLoopsAsync(int count)
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(_ => StartAcceptThread())).ConfigureAwait(false);
            _forKestrel.Writer.TryComplete();
        }

        private Task StartAcceptThread()
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            new Thread(() =>
            {
                try
                {
                    AcceptLoop();
                }
                finally
                {
                    done.TrySetResult();
                }
            })
            {
                IsBackground = true,
                Name = "Edge accept loop",
            }.Start();
            return done.Task;
        }

        /// <summary>
        /// Blocks in accept on its own thread: a connection that arrives wakes this thread
        /// directly in the kernel, with no readiness event handed through the socket engine's
        /// thread to a thread-pool worker.
        /// </summary>
        private void AcceptLoop()
        {
            while (!_stopping.IsCancellationRequested)
            {
                Socket accepted;
                try
                {
                    accepted = _socket.Accept();
                }
                catch (Exception ex) when (ex is ObjectDisposedException || _stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (SocketException ex)
                {
                    // Out of file descriptors, a connection reset before accept: keep listening.
                    Log.AcceptFailed(_logger, ex.SocketErrorCode, ex);
                    Thread.Sleep(10);
                    continue;
                }

                if (_noDelayPerConnection)
                {
                    accepted.NoDelay = true;
                }

                // Runs here until its first wait (a stream: until it is open); meanwhile the other
                // loops keep accepting.
                _ = OfferAsync(accepted);
            }
        }

        private async Task OfferAsync(Socket socket)
        {
            Interlocked.Increment(ref _active);
            try
            {
                if (await _direct.TryServeAsync(socket, _stopping.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception ex)
            {
                Log.OfferFailed(_logger, ex);
            }
            finally
            {
                Leave();
            }

            ToKestrel(socket);
        }

        private void ToKestrel(Socket socket)
        {
            if (!_forKestrel.Writer.TryWrite(socket))
            {
                socket.Dispose();
            }
        }

        private void Leave()
        {
            if (Interlocked.Decrement(ref _active) == 0)
            {
                _served.TrySetResult();
            }
        }

        private static partial class Log
        {
            [LoggerMessage(EventId = SocketEventIds.AcceptFailed, Level = LogLevel.Warning, Message = "Accepting a connection failed ({Error}); still listening")]
            public static partial void AcceptFailed(ILogger logger, SocketError error, Exception exception);

            [LoggerMessage(EventId = SocketEventIds.ClassifyFailed, Level = LogLevel.Error, Message = "Looking at a new connection's first request failed; Kestrel serves it")]
            public static partial void OfferFailed(ILogger logger, Exception exception);
        }
    }
}
