using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Edge.Proxy.Direct;

/// <summary>A keep-alive connection to a destination, owned by one event loop; in use by one client connection at a time, or idle in the loop's pool.</summary>
internal sealed class UpstreamConnection
{
    private readonly GCHandle _handle;

    private UpstreamConnection(Socket socket, IPEndPoint endPoint, bool connecting)
    {
        Socket = socket;
        EndPoint = endPoint;
        Connecting = connecting;
        Writable = !connecting;
        _handle = GCHandle.Alloc(this);
        Token = GCHandle.ToIntPtr(_handle);
    }

    public Socket Socket { get; }

    public IPEndPoint EndPoint { get; }

    /// <summary>This connection's epoll data.</summary>
    public nint Token { get; }

    /// <summary>The client connection using it; null while idle.</summary>
    public ProxyConnection? Owner { get; set; }

    public bool Connecting { get; set; }

    public bool Readable { get; set; }

    public bool Writable { get; set; }

    /// <summary>The upstream closed (or reset) its side: once its bytes are read, the next read returns the end.</summary>
    public bool HangUp { get; set; }

    public bool Closed { get; private set; }

    /// <summary>It carried a request before: the upstream may have closed it meanwhile, so a request that fails on it before any answer is sent again on a new connection.</summary>
    public bool Reused { get; set; }

    public long IdleSince { get; set; }

    /// <summary>Starts connecting without blocking; null (with the error) when the attempt fails at once.</summary>
    public static UpstreamConnection? Open(ProxyEventLoop loop, IPEndPoint endPoint, out SocketError error)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { Blocking = false, NoDelay = true };
        var connecting = false;
        error = SocketError.Success;
        try
        {
            socket.Connect(endPoint);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            connecting = true;
        }
        catch (SocketException ex)
        {
            error = ex.SocketErrorCode;
            socket.Dispose();
            return null;
        }

        var upstream = new UpstreamConnection(socket, endPoint, connecting);
        if (!loop.Watch(upstream))
        {
            error = SocketError.SocketError;
            upstream.Close(loop);
            return null;
        }

        return upstream;
    }

    /// <summary>Once writable, whether the connection attempt succeeded.</summary>
    public SocketError CompleteConnect()
    {
        Connecting = false;
        var code = (int)Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        return code == 0 ? SocketError.Success : new SocketException(code).SocketErrorCode;
    }

    public void Close(ProxyEventLoop loop)
    {
        if (Closed)
        {
            return;
        }

        Closed = true;
        Owner = null;
        Socket.Dispose();
        loop.Release(_handle);
    }
}
