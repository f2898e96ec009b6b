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

        // A TLS connection's first bytes are a handshake, never a GET: it goes on to Kestrel untouched.
        services.AddSingleton<IConnectionListenerFactory, EdgeSocketTransportFactory>();
        return services;
    }
}
