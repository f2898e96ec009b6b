namespace Edge.Transports.Sockets;

/// <summary>The log event ids of the socket fast path (6000-6099), in one place.</summary>
internal static class SocketEventIds
{
    public const int AcceptFailed = 6000;
    public const int ClassifyFailed = 6001;
    public const int DirectStreamFailed = 6002;
    public const int DepartureWatcherFailed = 6003;
}
