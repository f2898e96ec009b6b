using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Edge.Hosting;

/// <summary>
/// Listen sockets with <c>SO_REUSEPORT</c>: several edge processes bind one port and the kernel
/// balances new connections between them. One process is capped by its open-file limit; a
/// host serves more streams by running several processes on one broker.
/// </summary>
internal static class ReusePortListenSocket
{
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    public static Socket Create(EndPoint endpoint)
    {
        if (!OperatingSystem.IsLinux() || endpoint is not IPEndPoint)
        {
            return SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
        }

        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            if (endpoint is IPEndPoint { Address: var address } && address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endpoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
