using System.Net;
using Edge.Configuration;
using Edge.Transports.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Edge.Tls;

/// <summary>
/// Configures Kestrel from <c>Edge:Urls</c>, <c>Edge:Tls</c> and <c>Edge:Http2</c>: every address
/// is bound here (plain ones HTTP/1.1; <c>https://</c> ones with TLS, the SNI selector and ALPN
/// <c>h2</c> + <c>http/1.1</c>, then <see cref="TlsIdleBuffers"/>; <c>Edge:Http2:PriorKnowledgeUrls</c> HTTP/2 only), Kestrel's HTTP/2
/// limits are set, and TLS defaults (versions) apply to <c>Kestrel:Endpoints</c> too. When
/// <c>Kestrel:Endpoints</c> is configured, Kestrel binds those instead and the edge binds nothing.
/// TLS and h2c endpoints are left out of the stream fast path.
/// </summary>
internal sealed class EdgeKestrelSetup(IConfiguration configuration, IOptions<EdgeTlsOptions> tlsOptions, IOptions<EdgeHttp2Options> http2Options, IServiceProvider services) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        // Kestrel is configured while the host is built, before the pipeline reads its options: a
        // bad configuration is reported here, every section's problems at once (TlsSectionsValidator).
        _ = services.GetRequiredService<IOptions<EdgeOptions>>().Value;
        var tls = tlsOptions.Value;
        var http2 = http2Options.Value;
        var limits = kestrel.Limits.Http2;
        limits.MaxStreamsPerConnection = http2.MaxStreamsPerConnection;
        limits.InitialConnectionWindowSize = http2.InitialConnectionWindowSize;
        limits.InitialStreamWindowSize = http2.InitialStreamWindowSize;
        limits.MaxFrameSize = http2.MaxFrameSize;
        limits.KeepAlivePingDelay = http2.KeepAlivePingDelay == TimeSpan.Zero ? TimeSpan.MaxValue : http2.KeepAlivePingDelay;
        limits.KeepAlivePingTimeout = http2.KeepAlivePingTimeout;

        TlsOptionsValidator.TryParseProtocols(tls.Protocols, [], out var protocols);
        kestrel.ConfigureHttpsDefaults(https => https.SslProtocols = protocols);
        if (!http2.Enabled)
        {
            kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http1);
        }

        var kestrelOnly = services.GetService<KestrelOnlyEndpoints>();
        if (TlsOptionsValidator.KestrelEndpointsConfigured(configuration))
        {
            ListenForMetrics(kestrel, kestrelOnly);
            // Kestrel binds Kestrel:Endpoints (and warns that they replace Edge:Urls); Edge:Urls is
            // given to it as before, so the warning names them.
            return;
        }

        var errors = new List<string>();
        var addresses = ListenAddress.ParseAll(configuration[$"{EdgeOptions.SectionName}:Urls"] ?? new EdgeOptions().Urls, "Edge:Urls", priorKnowledge: false, errors);
        addresses.AddRange(ListenAddress.ParseAll(http2.PriorKnowledgeUrls, $"{EdgeHttp2Options.SectionName}:PriorKnowledgeUrls", priorKnowledge: true, errors));
        var selector = addresses.Any(a => a.Kind == ListenKind.Https) ? services.GetRequiredService<TlsCertificateSelector>() : null;
        var idleBuffers = selector is null ? null : services.GetRequiredService<TlsIdleBuffers>();
        foreach (var address in addresses)
        {
            Listen(kestrel, address, endpoint => Configure(endpoint, address, http2, protocols, selector, idleBuffers, kestrelOnly));
        }

        ListenForMetrics(kestrel, kestrelOnly);
    }

    /// <summary>Binds <c>Edge:Metrics:Url</c>, plain HTTP/1.1 and never through the stream fast path.</summary>
    private void ListenForMetrics(KestrelServerOptions kestrel, KestrelOnlyEndpoints? kestrelOnly)
    {
        var metrics = services.GetRequiredService<IOptions<EdgeOptions>>().Value.Metrics;
        if (!metrics.Enabled || string.IsNullOrEmpty(metrics.Url))
        {
            return;
        }

        if (!ListenAddress.TryParse(metrics.Url, priorKnowledge: false, out var address, out var error) || address.Kind != ListenKind.Http)
        {
            throw new InvalidOperationException($"Edge:Metrics:Url: {error ?? "must be an http:// address"}.");
        }

        var listener = services.GetRequiredService<Diagnostics.MetricsListener>();
        Listen(kestrel, address, endpoint =>
        {
            Configure(endpoint, address, http2Options.Value, default, null, null, kestrelOnly);
            listener.Bind(endpoint);
        });
    }

    private static void Listen(KestrelServerOptions kestrel, ListenAddress address, Action<ListenOptions> configure)
    {
        if (address.UnixSocketPath is { } path)
        {
            kestrel.ListenUnixSocket(path, configure);
        }
        else if (address.Address is { } ip)
        {
            kestrel.Listen(ip, address.Port, configure);
        }
        else if (address.IsLocalhost)
        {
            kestrel.ListenLocalhost(address.Port, configure);
        }
        else
        {
            kestrel.ListenAnyIP(address.Port, configure);
        }
    }

    private static void Configure(ListenOptions endpoint, ListenAddress address, EdgeHttp2Options http2, System.Security.Authentication.SslProtocols protocols, TlsCertificateSelector? selector, TlsIdleBuffers? idleBuffers, KestrelOnlyEndpoints? kestrelOnly)
    {
        switch (address.Kind)
        {
            case ListenKind.Http:
                endpoint.Protocols = HttpProtocols.Http1;
                return;
            case ListenKind.H2c:
                endpoint.Protocols = HttpProtocols.Http2;
                break;
            case ListenKind.Https:
                endpoint.Protocols = http2.Enabled ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1;
                endpoint.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = selector!.OnHandshake,
                    OnConnectionState = protocols,
                });
                if (idleBuffers is { Enabled: true })
                {
                    endpoint.Use(idleBuffers.Middleware);
                }

                break;
        }

        if (kestrelOnly is not null && endpoint.EndPoint is IPEndPoint ip)
        {
            kestrelOnly.Add(ip);

            // Kestrel binds localhost and any-address endpoints as two sockets, the second a copy.
            if (address.IsLocalhost)
            {
                kestrelOnly.Add(new IPEndPoint(IPAddress.Loopback, ip.Port));
                kestrelOnly.Add(new IPEndPoint(IPAddress.IPv6Loopback, ip.Port));
            }
            else if (address.IsAnyIp)
            {
                kestrelOnly.Add(new IPEndPoint(IPAddress.Any, ip.Port));
                kestrelOnly.Add(new IPEndPoint(IPAddress.IPv6Any, ip.Port));
            }
        }
    }
}
