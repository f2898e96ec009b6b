using System.Net;

namespace Edge.Transports.Sockets;

/// <summary>
/// Listen endpoints the fast path must not take: TLS and cleartext HTTP/2 addresses, whose
/// connections are Kestrel's from the first byte. Kestrel binds them with its own socket transport.
/// An endpoint with a port is known by address and port; one with port 0 (a random port) by the
/// very <see cref="EndPoint"/> object Kestrel binds.
/// </summary>
public sealed class KestrelOnlyEndpoints
{
    private readonly Lock _lock = new();
    private readonly HashSet<EndPoint> _byValue = [];
    private readonly HashSet<EndPoint> _byReference = new(ReferenceEqualityComparer.Instance);

    public void Add(EndPoint endpoint)
    {
        lock (_lock)
        {
            if (endpoint is IPEndPoint { Port: 0 })
            {
                _byReference.Add(endpoint);
            }
            else
            {
                _byValue.Add(endpoint);
            }
        }
    }

    public bool Contains(EndPoint endpoint)
    {
        lock (_lock)
        {
            return _byReference.Contains(endpoint) || _byValue.Contains(endpoint);
        }
    }
}
