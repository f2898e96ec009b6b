using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Edge.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Edge.Tests.Tls;

/// <summary>TLS and HTTP/2 clients for tests: any certificate is accepted (and kept, to check which one was served); every wait is bounded.</summary>
internal static class TlsTestKit
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Test settings with a plain and a TLS address on random loopback ports, plain first (so the test host publishes over it).</summary>
    public static Dictionary<string, string?> Settings(string cert, string? key, params (string Key, string? Value)[] more)
    {
        var settings = TestSettings.Default(
            ("Edge:Urls", "http://127.0.0.1:0;https://127.0.0.1:0"),
            ("Edge:Tls:Certificates:main:Path", cert),
            ("Edge:Tls:Certificates:main:KeyPath", key));
        foreach (var (k, v) in more)
        {
            settings[k] = v;
        }

        return settings;
    }

    public static IReadOnlyList<Uri> Addresses(EdgeTestHost edge) =>
        edge.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a.EndsWith('/') ? a : a + "/")).ToList();

    public static Uri Https(EdgeTestHost edge) => Addresses(edge).First(a => a.Scheme == "https");

    /// <summary>An HTTP client for TLS addresses; <paramref name="version"/> 2.0 makes it speak HTTP/2 only (ALPN h2, or prior knowledge on http://).</summary>
    public static HttpClient Client(Uri baseAddress, Version? version = null, Action? onConnect = null, bool redirects = true)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = redirects,
            AutomaticDecompression = DecompressionMethods.None,
            SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
            ConnectCallback = async (context, cancellationToken) =>
            {
                onConnect?.Invoke();
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    // Every host name reaches the loopback edge: the name is only for SNI and Host.
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        HttpMessageHandler outer = version is null ? handler : new ExactVersion(handler, version);
        return new HttpClient(outer) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Publishes through the given client (the publish API over TLS or HTTP/2).</summary>
    public static async Task PublishAsync(HttpClient client, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "_edge/publish") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestSettings.PublishKey);
        using var timeout = new CancellationTokenSource(Wait);
        using var response = await client.SendAsync(request, timeout.Token);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"Publishing answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>One TLS handshake with <paramref name="serverName"/> as SNI; returns the certificate served and what was negotiated.</summary>
    public static async Task<Handshake> HandshakeAsync(int port, string serverName, SslProtocols protocols = SslProtocols.None, string alpn = "http/1.1")
    {
        using var tcp = new TcpClient();
        using var timeout = new CancellationTokenSource(Wait);
        await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        X509Certificate2? served = null;
        var chain = new List<string>();
        await using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, certificate, sent, _) =>
        {
            served = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());

            // The certificates the server sent after its own are the chain's extra store.
            chain.AddRange(sent?.ChainPolicy.ExtraStore.Select(c => c.Subject) ?? []);
            return true;
        });
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            EnabledSslProtocols = protocols,
            ApplicationProtocols = [new SslApplicationProtocol(alpn)],
        }, timeout.Token);
        return new Handshake(served!, ssl.SslProtocol, ssl.NegotiatedApplicationProtocol.ToString(), chain);
    }

    /// <summary>Waits until <paramref name="condition"/> holds, or fails the test after <paramref name="within"/>.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"Not within {within}: {what}");
            }

            await Task.Delay(50);
        }
    }

    internal sealed record Handshake(X509Certificate2 Certificate, SslProtocols Protocol, string Alpn, IReadOnlyList<string> SentChain)
    {
        public string CommonName => Certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
    }

    /// <summary>Sends every request as exactly <paramref name="version"/>, as a browser that negotiated it would.</summary>
    private sealed class ExactVersion(HttpMessageHandler inner, Version version) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Version = version;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
            return base.SendAsync(request, cancellationToken);
        }
    }
}
