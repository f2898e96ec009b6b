using System.Net;
using System.Net.Sockets;
using System.Text;
using Edge.Testing;
using Edge.Transports.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Tls;

/// <summary>Cleartext HTTP/2 (h2c) with prior knowledge, and the stream fast path kept off TLS and h2c connections.</summary>
public sealed class H2cAndFastPathTests
{
    private static readonly TimeSpan Wait = TlsTestKit.Wait;

    /// <summary>
    /// Why h2c needs an address of its own: Kestrel 10 does not look for the HTTP/2 preface on a
    /// cleartext Http1AndHttp2 endpoint (it picks HTTP/1.1 without ALPN), only an Http2-only endpoint
    /// speaks prior knowledge. If a Kestrel update starts detecting the preface, this fails, and
    /// <c>Edge:Http2:PriorKnowledgeUrls</c> could become a flag on <c>Edge:Urls</c>.
    /// </summary>
    [Fact]
    public async Task Kestrel_SpeaksPriorKnowledgeHttp2_OnlyOnAnHttp2OnlyCleartextEndpoint()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1AndHttp2);
            kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
        });
        await using var app = builder.Build();
        app.MapGet("/", (HttpContext context) => context.Request.Protocol);
        using var start = new CancellationTokenSource(Wait);
        await app.StartAsync(start.Token);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();

        using var both = TlsTestKit.Client(addresses[0], HttpVersion.Version20);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => both.GetStringAsync("/").WaitAsync(Wait));

        using var only = TlsTestKit.Client(addresses[1], HttpVersion.Version20);
        Assert.Equal("HTTP/2", await only.GetStringAsync("/").WaitAsync(Wait));
        await app.StopAsync(start.Token);
    }

    [Fact]
    public async Task H2cAddress_ServesAStreamOverHttp2_AndIsNeverRedirected()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key,
            ("Edge:Http2:PriorKnowledgeUrls", "http://127.0.0.1:0"),
            ("Edge:Tls:HttpsRedirect:Enabled", "true")));
        var h2c = TlsTestKit.Addresses(edge).Where(a => a.Scheme == "http").ElementAt(1);

        using var client = TlsTestKit.Client(h2c, HttpVersion.Version20, redirects: false);
        await using var stream = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c");
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal(HttpVersion.Version20, stream.Response.Version);
        await stream.ReadFrameAsync(Wait);
        await TlsTestKit.PublishAsync(client, """{"channel":"c","data":"h2c"}""");
        Assert.Equal("h2c", (await stream.ReadEventAsync(Wait)).Data);

        // HTTP/1.1 is not spoken there: Kestrel answers it 400 and closes.
        using var http11 = TlsTestKit.Client(h2c, HttpVersion.Version11);
        using var refused = await http11.GetAsync("/_edge/health").WaitAsync(Wait);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("HTTP/2", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FastPath_TakesPlainHttp11Streams_ButNeverTlsOrH2cAddresses()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        int[] ports = [FreePort(), FreePort(), FreePort()];
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key,
            ("Edge:Urls", $"http://127.0.0.1:{ports[0]};https://127.0.0.1:{ports[1]}"),
            ("Edge:Http2:PriorKnowledgeUrls", $"http://127.0.0.1:{ports[2]}")));
        var kestrelOnly = edge.Services.GetRequiredService<KestrelOnlyEndpoints>();
        Assert.False(kestrelOnly.Contains(new IPEndPoint(IPAddress.Loopback, ports[0])));
        Assert.True(kestrelOnly.Contains(new IPEndPoint(IPAddress.Loopback, ports[1])));
        Assert.True(kestrelOnly.Contains(new IPEndPoint(IPAddress.Loopback, ports[2])));

        // The fast path's answer: Connection: close and a body to the end of the connection.
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, ports[0]);
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /events HTTP/1.1\r\nHost: edge.test\r\n\r\n"));
            var head = await ReadHeadAsync(tcp.GetStream());
            Assert.Contains("\r\nConnection: close\r\n", head, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Transfer-Encoding", head, StringComparison.OrdinalIgnoreCase);
        }

        // Over TLS and HTTP/1.1, Kestrel serves it: chunked.
        using var client = TlsTestKit.Client(new Uri($"https://127.0.0.1:{ports[1]}/"), HttpVersion.Version11);
        await using var stream = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events");
        Assert.Equal(HttpVersion.Version11, stream.Response.Version);
        Assert.True(stream.Response.Headers.TransferEncodingChunked);
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(Wait);
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.NotEqual(0, read);
            head.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return head.ToString();
    }
}
