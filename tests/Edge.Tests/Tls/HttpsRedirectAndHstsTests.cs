using System.Net;
using System.Net.Sockets;
using System.Text;
using Edge.Testing;
using Xunit;

namespace Edge.Tests.Tls;

/// <summary><c>Edge:Tls:HttpsRedirect</c> and <c>Edge:Tls:Hsts</c>: on streams (fast path and Kestrel alike) and on every other request.</summary>
public sealed class HttpsRedirectAndHstsTests
{
    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    public async Task PlainHttpStreamRequest_IsRedirectedToTheHttpsPort_OnTheFastPathAndThroughKestrel(string directStreams)
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key,
            ("Edge:DirectStreams", directStreams),
            ("Edge:Tls:HttpsRedirect:Enabled", "true")));
        var http = TlsTestKit.Addresses(edge).First(a => a.Scheme == "http");
        var https = TlsTestKit.Https(edge);

        // A raw request, exactly what the fast path takes (a simple GET of a stream path as the first request).
        var answer = await RawGetAsync(http.Port, "/events?channels=a,b", "edge.test");
        Assert.StartsWith("HTTP/1.1 308 ", answer, StringComparison.Ordinal);
        Assert.Contains($"\r\nLocation: https://edge.test:{https.Port}/events?channels=a,b\r\n", answer, StringComparison.OrdinalIgnoreCase);

        using var client = TlsTestKit.Client(http, redirects: false);
        using var other = await client.GetAsync("some/proxied/path?x=1");
        Assert.Equal(HttpStatusCode.PermanentRedirect, other.StatusCode);
        Assert.Equal(new Uri($"https://127.0.0.1:{https.Port}/some/proxied/path?x=1"), other.Headers.Location);

        // Followed, the redirect opens the stream over TLS.
        using var following = TlsTestKit.Client(http);
        await using var stream = await SseTestClient.ConnectAsync(following, ownsClient: false, "/events?channels=c");
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("https", stream.Response.RequestMessage!.RequestUri!.Scheme);
    }

    [Fact]
    public async Task Redirect_UsesTheConfiguredStatusAndPort()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key,
            ("Edge:Tls:HttpsRedirect:Enabled", "true"),
            ("Edge:Tls:HttpsRedirect:StatusCode", "301"),
            ("Edge:Tls:HttpsRedirect:HttpsPort", "443")));
        var http = TlsTestKit.Addresses(edge).First(a => a.Scheme == "http");

        var answer = await RawGetAsync(http.Port, "/events", "edge.example.com:8080");
        Assert.StartsWith("HTTP/1.1 301 ", answer, StringComparison.Ordinal);
        Assert.Contains("\r\nLocation: https://edge.example.com/events\r\n", answer, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task RedirectOff_ServesTheStreamOnPlainHttp()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key));
        var http = TlsTestKit.Addresses(edge).First(a => a.Scheme == "http");

        var answer = await RawGetAsync(http.Port, "/events", "edge.test", readUntil: "\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 ", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hsts_OnHttpsResponses_WithTheConfiguredDirectives_NotOnPlainHttp()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key,
            ("Edge:Tls:Hsts:Enabled", "true"),
            ("Edge:Tls:Hsts:MaxAge", "180.00:00:00"),
            ("Edge:Tls:Hsts:IncludeSubDomains", "true"),
            ("Edge:Tls:Hsts:Preload", "true"),
            ("Edge:Tls:Hsts:ExcludedHosts:0", "excluded.test")));
        var https = TlsTestKit.Https(edge);
        var http = TlsTestKit.Addresses(edge).First(a => a.Scheme == "http");

        using var client = TlsTestKit.Client(new Uri($"https://edge.test:{https.Port}/"));
        using var response = await client.GetAsync("_edge/health");
        Assert.Equal("max-age=15552000; includeSubDomains; preload", string.Join(",", response.Headers.GetValues("Strict-Transport-Security")));

        // A stream over TLS gets it too (the header goes out with the stream's head).
        await using var stream = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events");
        Assert.True(stream.Response.Headers.Contains("Strict-Transport-Security"));

        using var excluded = TlsTestKit.Client(new Uri($"https://excluded.test:{https.Port}/"));
        using var excludedResponse = await excluded.GetAsync("_edge/health");
        Assert.False(excludedResponse.Headers.Contains("Strict-Transport-Security"));

        using var plain = TlsTestKit.Client(http);
        using var plainResponse = await plain.GetAsync("_edge/health");
        Assert.False(plainResponse.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task Hsts_ByDefault_LeavesOutLocalhostAndLoopback_AsAspNetCoreDoes()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key, ("Edge:Tls:Hsts:Enabled", "true")));
        var port = TlsTestKit.Https(edge).Port;

        using var loopback = TlsTestKit.Client(new Uri($"https://127.0.0.1:{port}/"));
        using var loopbackResponse = await loopback.GetAsync("_edge/health");
        Assert.False(loopbackResponse.Headers.Contains("Strict-Transport-Security"));

        using var named = TlsTestKit.Client(new Uri($"https://edge.test:{port}/"));
        using var namedResponse = await named.GetAsync("_edge/health");
        Assert.Equal("max-age=31536000", string.Join(",", namedResponse.Headers.GetValues("Strict-Transport-Security")));
    }

    /// <summary>Sends one GET and reads the answer until the server closes or <paramref name="readUntil"/> has arrived.</summary>
    private static async Task<string> RawGetAsync(int port, string target, string host, string? readUntil = null)
    {
        using var tcp = new TcpClient();
        using var timeout = new CancellationTokenSource(TlsTestKit.Wait);
        await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"), timeout.Token);
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
            var text = answer.ToString();
            if (readUntil is not null ? text.Contains(readUntil, StringComparison.Ordinal) : text.Contains("\r\n\r\n", StringComparison.Ordinal) && !text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
            {
                break;
            }
        }

        return answer.ToString();
    }
}
