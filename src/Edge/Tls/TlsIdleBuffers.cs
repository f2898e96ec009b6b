using Edge.Diagnostics;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Options;

namespace Edge.Tls;

/// <summary>
/// <c>Edge:Tls:ReleaseIdleBuffers</c>: a connection middleware on the edge's <c>https://</c>
/// addresses that sets OpenSSL's <c>SSL_MODE_RELEASE_BUFFERS</c> on each connection right after
/// Kestrel's handshake, so OpenSSL frees the connection's record buffers whenever they are drained
/// and takes them again for the next record, as nginx does; .NET never sets it. When this runtime's
/// <see cref="System.Net.Security.SslStream"/> or libssl cannot be bound (<see cref="SslStreamOpenSsl"/>),
/// one warning at start, and connections go on without it; a connection where setting it fails
/// goes on without it too.
/// </summary>
internal sealed partial class TlsIdleBuffers
{
    private readonly SslStreamOpenSsl? _openSsl;
    private readonly ILogger<TlsIdleBuffers> _logger;

    public TlsIdleBuffers(IOptions<EdgeTlsOptions> options, ILogger<TlsIdleBuffers> logger)
    {
        _logger = logger;
        if (!options.Value.ReleaseIdleBuffers)
        {
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            // Other systems' TLS is not OpenSSL.
            return;
        }

        var (binding, failure) = SslStreamOpenSsl.Shared;
        if (binding is null)
        {
            Log.Unavailable(logger, failure);
            return;
        }

        Log.Bound(logger, binding.LibSsl.Path);
        _openSsl = binding;
    }

    /// <summary>True when the key is on and the runtime could be bound: the middleware is worth adding.</summary>
    public bool Enabled => _openSsl is not null;

    /// <summary>Goes after <c>UseHttps</c>: it runs once the handshake is done, before HTTP reads or writes anything.</summary>
    public ConnectionDelegate Middleware(ConnectionDelegate next) => context =>
    {
        Release(context);
        return next(context);
    };

    internal void Release(ConnectionContext context)
    {
        if (_openSsl is null || context.Features.Get<ISslStreamFeature>()?.SslStream is not { } stream)
        {
            return;
        }

        try
        {
            if (OperatingSystem.IsLinux() && _openSsl.AddMode(stream, LibSsl.ModeReleaseBuffers) is null)
            {
                Log.NotSet(_logger, context.ConnectionId, null);
            }
        }
        catch (Exception e)
        {
            Log.NotSet(_logger, context.ConnectionId, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.TlsIdleBuffersUnavailable, EventName = "TlsIdleBuffersUnavailable", Level = LogLevel.Warning, Message = "Edge:Tls:ReleaseIdleBuffers is on but cannot be applied: {Reason}. TLS connections keep OpenSSL's record buffers while idle")]
        public static partial void Unavailable(ILogger logger, string reason);

        [LoggerMessage(EventId = EdgeEventIds.TlsIdleBuffersNotSet, EventName = "TlsIdleBuffersNotSet", Level = LogLevel.Debug, Message = "Connection {ConnectionId}: OpenSSL's release-buffers mode not set; the connection goes on without it")]
        public static partial void NotSet(ILogger logger, string connectionId, Exception? exception);

        [LoggerMessage(EventId = EdgeEventIds.TlsIdleBuffersBound, EventName = "TlsIdleBuffersBound", Level = LogLevel.Debug, Message = "TLS connections release OpenSSL's record buffers while idle ({LibSsl})")]
        public static partial void Bound(ILogger logger, string libSsl);
    }
}
