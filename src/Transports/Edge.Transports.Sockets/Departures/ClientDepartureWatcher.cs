using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Edge.Transports.Sockets;

/// <summary>
/// Notices that the client of a direct stream went away, for all direct streams on one epoll
/// instance and one thread. The alternative, a receive kept pending on every stream's socket,
/// costs each idle stream socket-engine state and an async state machine that live as long as the
/// stream (bench/README.md has the figure).
/// </summary>
/// <remarks>
/// Linux on x64 only (<see cref="Epoll.IsSupported"/>); elsewhere the stream server keeps a
/// receive pending instead. Whatever a client sends after its stream request is read and dropped,
/// as that pending receive did.
/// </remarks>
internal sealed partial class ClientDepartureWatcher(ILogger<ClientDepartureWatcher> logger) : IDisposable
{
    private const int MaxEvents = 256;
    private const int MaxReadsPerEvent = 64;

    private readonly Lock _gate = new();
    private readonly ConcurrentQueue<GCHandle> _released = new();
    private EpollInstance? _epoll;
    private Thread? _thread;
    private bool _disposed;

    /// <summary>
    /// Cancels <paramref name="departed"/> once the client closes or resets the connection.
    /// Dispose the returned watch before the socket is closed. Null when the watcher cannot
    /// take it (stopped, or the socket is not pollable); the caller then watches by itself.
    /// </summary>
    public Watch? TryAdd(Socket socket, CancellationTokenSource departed)
    {
        if (!Epoll.IsSupported)
        {
            return null;
        }

        var watch = new Watch(this, socket, departed);
        if (Started() is not { } epoll || !epoll.TryAdd((int)socket.Handle, Epoll.In | Epoll.RdHup | Epoll.EdgeTriggered, GCHandle.ToIntPtr(watch.Handle)))
        {
            watch.Handle.Free();
            return null;
        }

        // A socket that is already readable or closed when added is reported by the next wait.
        return watch;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _epoll?.WakeUp();
        _thread?.Join(TimeSpan.FromSeconds(5));
    }

    /// <summary>The epoll instance, with its thread started at the first watch; null once disposed.</summary>
    private EpollInstance? Started()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            if (_epoll is null)
            {
                var epoll = _epoll = new EpollInstance();
                _thread = new Thread(() => Run(epoll)) { IsBackground = true, Name = "Edge departure watcher" };
                _thread.Start();
            }

            return _epoll;
        }
    }

    private unsafe void Run(EpollInstance epoll)
    {
        var events = stackalloc Epoll.Event[MaxEvents];
        try
        {
            while (!Volatile.Read(ref _disposed))
            {
                var count = epoll.Wait(events, MaxEvents, -1);
                for (var i = 0; i < count; i++)
                {
                    if (events[i].Data != 0 && GCHandle.FromIntPtr(events[i].Data).Target is Watch watch)
                    {
                        watch.Check(events[i].Events);
                    }
                }

                // A handle is freed only here, after every event fetched with it was handled:
                // its registration was removed before it was queued, so no later wait returns it.
                while (_released.TryDequeue(out var handle))
                {
                    handle.Free();
                }
            }
        }
        catch (Exception ex)
        {
            Log.Failed(logger, ex);
        }
        finally
        {
            // Handles are queued only while the instance is open (under its lock): after Close
            // this is the last of them.
            epoll.Close();
            while (_released.TryDequeue(out var handle))
            {
                handle.Free();
            }
        }
    }

    /// <summary>One watched socket; disposing it stops the watch (before the socket is closed).</summary>
    internal sealed class Watch : IDisposable
    {
        private readonly ClientDepartureWatcher _owner;
        private readonly Socket _socket;
        private readonly CancellationTokenSource _departed;
        private int _disposed;

        public Watch(ClientDepartureWatcher owner, Socket socket, CancellationTokenSource departed)
        {
            _owner = owner;
            _socket = socket;
            _departed = departed;
            Handle = GCHandle.Alloc(this);
        }

        public GCHandle Handle { get; }

        /// <summary>Reads and drops what is readable; cancels the token when the client is gone.</summary>
        public void Check(uint flags)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            // The client closed (or half-closed) its side, or the connection broke: gone, whatever it sent before.
            var gone = (flags & (Epoll.Hup | Epoll.Err | Epoll.RdHup)) != 0;
            if (!gone)
            {
                Span<byte> sink = stackalloc byte[1024];
                try
                {
                    // Bounded, so one client that keeps sending cannot hold the thread; whatever it
                    // sends next raises a new edge.
                    for (var reads = 0; reads < MaxReadsPerEvent; reads++)
                    {
                        var read = _socket.Receive(sink, SocketFlags.None, out var error);
                        if (error == SocketError.WouldBlock)
                        {
                            break;
                        }

                        if (error != SocketError.Success || read == 0)
                        {
                            gone = true;
                            break;
                        }
                    }
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
            }

            if (gone)
            {
                // Off this thread: the token's callbacks are the stream's to run.
                ThreadPool.UnsafeQueueUserWorkItem(static departed => Cancel(departed), _departed, preferLocal: false);
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            if (!_owner._epoll!.TryRemove((int)_socket.Handle, static w => w._owner._released.Enqueue(w.Handle), this))
            {
                Handle.Free();
            }
        }

        private static void Cancel(CancellationTokenSource departed)
        {
            try
            {
                departed.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = SocketEventIds.DepartureWatcherFailed, Level = LogLevel.Error, Message = "The departure watcher of direct streams failed; streams whose client leaves are closed at their next write")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
