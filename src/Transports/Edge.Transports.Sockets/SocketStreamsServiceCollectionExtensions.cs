using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Edge.Transports.Sockets;

public static class SocketStreamsServiceCollectionExtensions
{
    /// <summary>
    /// Serves a plain-text HTTP/1.1 connection whose first request is a stream GET straight off
    /// its socket, below Kestrel; every other connection goes to Kestrel unread. Needs an
    /// <see cref="IDirectStreamEndpoint"/>. Call after <c>UseSockets</c>, so Kestrel binds its IP
    /// endpoints through this listener.
    /// </summary>
    public static IServiceCollection AddSocketStreams(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HeadClassifier>();
        services.TryAddSingleton<DirectStreamServer>();
        services.TryAddSingleton<ClientDepartureWatcher>();
        services.TryAddSingleton<KestrelOnlyEndpoints>();

        // TLS and h2c endpoints the host names in KestrelOnlyEndpoints are not bound here at all. On
        // any other (Kestrel:Endpoints with TLS), a TLS connection's first byte is a handshake record
        // (0x16), never a GET: one peek sends it on to Kestrel untouched.
        services.AddSingleton<IConnectionListenerFactory, EdgeSocketTransportFactory>();
        return services;
    }
}
