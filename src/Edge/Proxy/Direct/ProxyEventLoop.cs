using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Edge.Sockets;

namespace Edge.Proxy.Direct;

/// <summary>
/// One thread with its own epoll set, serving the direct proxy's client connections and their
/// upstream connections (nginx's model: no thread hops, no tasks; every socket is edge-triggered
/// and its readiness is remembered, so each request costs one receive and one send on each
/// side). The thread owns every connection it was given; only <see cref="Adopt"/> is called
/// from other threads. Idle upstream connections are pooled here, per destination.
/// </summary>
internal sealed unsafe class ProxyEventLoop
{
    /// <summary>Connections an upstream closed are noticed at once; unused ones are closed after this.</summary>
    private static readonly TimeSpan UpstreamIdleTimeout = TimeSpan.FromSeconds(60);

    private const int MaxEvents = 256;
    private const int TickMilliseconds = 500;
    private const int MaxIdleUpstreamsPerDestination = 512;

    private readonly EpollInstance _epoll = new();
    private readonly DirectProxy _proxy;
    private readonly Thread _thread;
    private readonly List<ProxyConnection> _connections = [];
    private readonly System.Collections.Concurrent.ConcurrentQueue<ProxyConnection> _adopted = new();
    private readonly Dictionary<IPEndPoint, Stack<UpstreamConnection>> _idle = [];
    private readonly List<GCHandle> _released = [];
    private long _lastTick;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private volatile bool _aborting;

    public ProxyEventLoop(DirectProxy proxy, int index)
    {
        _proxy = proxy;
        Now = Stopwatch.GetTimestamp();
        _thread = new Thread(Run) { IsBackground = true, Name = $"Edge proxy loop {index}" };
        _thread.Start();
    }

    public DirectProxy Proxy => _proxy;

    /// <summary>Bytes read from sockets land here first; the loop is single-threaded, so one buffer serves every connection.</summary>
    public byte[] Scratch { get; } = new byte[64 * 1024];

    /// <summary>
    /// Where response heads are written before they are sent: at most the bytes they were read from
    /// (a kept partial head, under <see cref="UpstreamResponseHead.MaxHeadBytes"/>, plus one read),
    /// and a <c>Connection: close</c> line.
    /// </summary>
    public byte[] HeadScratch { get; } = new byte[UpstreamResponseHead.MaxHeadBytes + (64 * 1024) + 4096];

    /// <summary>The time the current batch of events was taken (one clock read per batch).</summary>
    public long Now { get; private set; }

    /// <summary>Takes a client connection (called from the accept path); its first bytes are already waiting.</summary>
    public bool Adopt(Socket client, Action<Socket> toKestrel)
    {
        var connection = new ProxyConnection(this, client, toKestrel);
        if (_epoll.TryAdd((int)client.Handle, Epoll.In | Epoll.Out | Epoll.RdHup | Epoll.EdgeTriggered, connection.Token, static s => s.Loop._adopted.Enqueue(s.Connection), (Loop: this, Connection: connection)))
        {
            return true;
        }

        connection.ReleaseHandle();
        return false;
    }

    public void Stop()
    {
        _stopping = true;
        _epoll.WakeUp();
    }

    /// <summary>Stops at once: every connection is cut at the next tick.</summary>
    public void Abort()
    {
        _aborting = true;
        Stop();
    }

    /// <summary>Completes when the loop has finished its last connection after <see cref="Stop"/>.</summary>
    public Task Exited => _exited.Task;

    /// <summary>Watches a new upstream connection for as long as it lives (whoever owns it).</summary>
    public bool Watch(UpstreamConnection upstream) =>
        _epoll.TryAdd((int)upstream.Socket.Handle, Epoll.In | Epoll.Out | Epoll.RdHup | Epoll.EdgeTriggered, upstream.Token);

    public void Unwatch(Socket socket) => _epoll.Remove((int)socket.Handle);

    /// <summary>Frees a connection's handle after the current batch of events, which may still name it.</summary>
    public void Release(GCHandle handle) => _released.Add(handle);

    /// <summary>An idle pooled connection to <paramref name="endPoint"/>, or null.</summary>
    public UpstreamConnection? TakeIdle(IPEndPoint endPoint)
    {
        if (_idle.TryGetValue(endPoint, out var stack))
        {
            while (stack.TryPop(out var upstream))
            {
                if (!upstream.Closed)
                {
                    return upstream;
                }
            }
        }

        return null;
    }

    /// <summary>Keeps a connection that finished its response cleanly for the next request to the same destination.</summary>
    public void ReturnIdle(UpstreamConnection upstream)
    {
        if (_stopping)
        {
            upstream.Close(this);
            return;
        }

        if (!_idle.TryGetValue(upstream.EndPoint, out var stack))
        {
            stack = new Stack<UpstreamConnection>();
            _idle[upstream.EndPoint] = stack;
        }

        if (stack.Count >= MaxIdleUpstreamsPerDestination)
        {
            upstream.Close(this);
            return;
        }

        upstream.IdleSince = Now;
        upstream.Owner = null;
        stack.Push(upstream);
    }

    private void Run()
    {
        var events = stackalloc Epoll.Event[MaxEvents];
        _lastTick = Now = Stopwatch.GetTimestamp();
        while (true)
        {
            var count = _epoll.Wait(events, MaxEvents, TickMilliseconds);
            Now = Stopwatch.GetTimestamp();
            while (_adopted.TryDequeue(out var adopted))
            {
                _connections.Add(adopted);
            }

            for (var i = 0; i < count; i++)
            {
                var flags = events[i].Events;
                if (events[i].Data == 0)
                {
                    // Stop() or Abort(): act on it now rather than at the next tick.
                    _lastTick = 0;
                    continue;
                }

                var target = GCHandle.FromIntPtr(events[i].Data).Target;
                var upstream = target as UpstreamConnection;
                var connection = upstream is null ? target as ProxyConnection : upstream.Owner;
                if (connection is not null)
                {
                    try
                    {
                        connection.OnEvent(upstream, flags);
                    }
                    catch (Exception ex)
                    {
                        _proxy.Failed(ex);
                        connection.Abort();
                    }
                }
                else if (upstream is { Closed: false } && (flags & (Epoll.In | Epoll.Hup | Epoll.RdHup | Epoll.Err)) != 0)
                {
                    // An idle pooled connection became readable: the upstream closed it (or broke the protocol).
                    upstream.Close(this);
                }
            }

            foreach (var handle in _released)
            {
                handle.Free();
            }

            _released.Clear();
            if (Stopwatch.GetElapsedTime(_lastTick).TotalMilliseconds >= TickMilliseconds)
            {
                _lastTick = Now;
                Tick();
                if (_stopping && _connections.Count == 0 && _adopted.IsEmpty)
                {
                    break;
                }
            }
        }

        foreach (var stack in _idle.Values)
        {
            while (stack.TryPop(out var upstream))
            {
                upstream.Close(this);
            }
        }

        foreach (var handle in _released)
        {
            handle.Free();
        }

        _released.Clear();
        _epoll.Close();

        // Taken after the last look at the queue, before the descriptors closed.
        while (_adopted.TryDequeue(out var late))
        {
            late.Abort();
        }

        foreach (var handle in _released)
        {
            handle.Free();
        }

        _exited.TrySetResult();
    }

    private void Tick()
    {
        for (var i = _connections.Count - 1; i >= 0; i--)
        {
            var connection = _connections[i];
            if (_aborting)
            {
                connection.Abort();
            }

            if (connection.Closed || connection.CheckTimeouts(_stopping))
            {
                _connections[i] = _connections[^1];
                _connections.RemoveAt(_connections.Count - 1);
            }
        }

        foreach (var stack in _idle.Values)
        {
            if (stack.Count > 0 && stack.Peek() is { } newest && Stopwatch.GetElapsedTime(newest.IdleSince) > UpstreamIdleTimeout)
            {
                // All of them have been idle at least this long.
                while (stack.TryPop(out var upstream))
                {
                    upstream.Close(this);
                }
            }
        }
    }
}
