using System.Net;
using System.Security.Authentication;
using Edge.Testing;
using Microsoft.Extensions.Options;
using Xunit;

namespace Edge.Tests.Tls;

/// <summary>Certificates from <c>Edge:Tls</c>: PEM and PKCS#12 files, SNI, bad values refused at start, Kestrel's own endpoints.</summary>
public sealed class TlsCertificateTests
{
    private static readonly TimeSpan Wait = TlsTestKit.Wait;

    [Fact]
    public async Task Pem_ServesTheCertificate_AndAStreamOverTls()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key));
        var https = TlsTestKit.Https(edge);

        var handshake = await TlsTestKit.HandshakeAsync(https.Port, "edge.test");
        Assert.Equal("edge.test", handshake.CommonName);

        using var client = TlsTestKit.Client(https);
        await using var stream = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c");
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        await stream.ReadFrameAsync(Wait);
        await TlsTestKit.PublishAsync(client, """{"channel":"c","data":"over tls"}""");
        Assert.Equal("over tls", (await stream.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task FullChainPem_SendsTheIntermediate_AfterTheCertificate()
    {
        // A public CA's certificate arrives as fullchain.pem; a client that lacks the intermediate
        // (not in the system store here either) can only build the chain if the server sends it.
        using var files = new TestCertificates();
        var (leaf, intermediate) = TestCertificates.CreateChain("chain.test");
        var (cert, key) = files.WriteFullChainPem("chain", leaf, intermediate);
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key));

        var handshake = await TlsTestKit.HandshakeAsync(TlsTestKit.Https(edge).Port, "chain.test");
        Assert.Equal("chain.test", handshake.CommonName);
        Assert.Equal(["CN=chain.test", "CN=Edge Test Intermediate"], handshake.SentChain);
    }

    [Fact]
    public async Task Certificate_NotForServerAuthentication_StopsTheStart()
    {
        using var files = new TestCertificates();
        var (leaf, intermediate) = TestCertificates.CreateChain("client.test", leafUsage: "1.3.6.1.5.5.7.3.2");
        var (cert, key) = files.WriteFullChainPem("client", leaf, intermediate);

        var failures = await StartFailuresAsync(TlsTestKit.Settings(cert, key));
        Assert.Contains(failures, f => f.StartsWith("Edge:Tls:Certificates:main", StringComparison.Ordinal) && f.Contains("server authentication", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pfx_WithPassword_IsServed()
    {
        using var files = new TestCertificates();
        var pfx = files.WritePfx("edge", TestCertificates.Create("pfx.test"), "s3cret");
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(pfx, null, ("Edge:Tls:Certificates:main:Password", "s3cret")));

        var handshake = await TlsTestKit.HandshakeAsync(TlsTestKit.Https(edge).Port, "pfx.test");
        Assert.Equal("pfx.test", handshake.CommonName);
    }

    [Fact]
    public async Task Sni_PicksTheCertificateByHostName_WildcardsOneLabel_ElseTheDefault()
    {
        using var files = new TestCertificates();
        var (apiCert, apiKey) = files.WritePem("api", TestCertificates.Create("api.example.com"));
        var (wildCert, wildKey) = files.WritePem("wild", TestCertificates.Create("wildcard.example.com", "*.example.com"));
        var (fallbackCert, fallbackKey) = files.WritePem("fallback", TestCertificates.Create("fallback.test"));
        var settings = TestSettings.Default(
            ("Edge:Urls", "http://127.0.0.1:0;https://127.0.0.1:0"),
            ("Edge:Tls:Certificates:api:Path", apiCert),
            ("Edge:Tls:Certificates:api:KeyPath", apiKey),
            ("Edge:Tls:Certificates:api:Hosts:0", "api.example.com"),
            ("Edge:Tls:Certificates:wild:Path", wildCert),
            ("Edge:Tls:Certificates:wild:KeyPath", wildKey),
            ("Edge:Tls:Certificates:wild:Hosts:0", "*.example.com"),
            ("Edge:Tls:Certificates:fallback:Path", fallbackCert),
            ("Edge:Tls:Certificates:fallback:KeyPath", fallbackKey),
            ("Edge:Tls:DefaultCertificate", "fallback"));
        await using var edge = await EdgeTestHost.StartAsync(settings);
        var port = TlsTestKit.Https(edge).Port;

        Assert.Equal("api.example.com", (await TlsTestKit.HandshakeAsync(port, "api.example.com")).CommonName);
        Assert.Equal("api.example.com", (await TlsTestKit.HandshakeAsync(port, "API.Example.com")).CommonName);
        Assert.Equal("wildcard.example.com", (await TlsTestKit.HandshakeAsync(port, "news.example.com")).CommonName);
        Assert.Equal("fallback.test", (await TlsTestKit.HandshakeAsync(port, "deep.news.example.com")).CommonName);
        Assert.Equal("fallback.test", (await TlsTestKit.HandshakeAsync(port, "other.test")).CommonName);

        // Through HttpClient, whose SNI is the request's host.
        using var client = TlsTestKit.Client(new Uri($"https://api.example.com:{port}/"));
        using var response = await client.GetAsync("_edge/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Sni_WithoutHosts_UsesTheCertificatesDnsNames()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("san.test", "san.test", "alt.test"));
        var (otherCert, otherKey) = files.WritePem("other", TestCertificates.Create("other.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(otherCert, otherKey,
            ("Edge:Tls:Certificates:san:Path", cert),
            ("Edge:Tls:Certificates:san:KeyPath", key),
            ("Edge:Tls:Certificates:main:Hosts:0", "other.test"),
            ("Edge:Tls:DefaultCertificate", "main")));
        var port = TlsTestKit.Https(edge).Port;

        Assert.Equal("san.test", (await TlsTestKit.HandshakeAsync(port, "alt.test")).CommonName);
        Assert.Equal("other.test", (await TlsTestKit.HandshakeAsync(port, "unknown.test")).CommonName);
    }

    [Fact]
    public async Task BadTlsValues_StopTheStart_EachNamedByItsKey_WithTheOtherSectionsProblems()
    {
        using var files = new TestCertificates();
        var (cert, _) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        var garbage = Path.Combine(files.Folder, "garbage.pem");
        await File.WriteAllTextAsync(garbage, "not a certificate");
        var settings = TestSettings.Default(
            ("Edge:Urls", "http://127.0.0.1:0;https://127.0.0.1:0"),
            ("Edge:Tls:Certificates:missing:Path", Path.Combine(files.Folder, "nope.pem")),
            ("Edge:Tls:Certificates:nokey:Path", cert),
            ("Edge:Tls:Certificates:bad:Path", garbage),
            ("Edge:Tls:Certificates:bad:Hosts:0", "not a host"),
            ("Edge:Tls:DefaultCertificate", "nobody"),
            ("Edge:Tls:Protocols:0", "Tls11"),
            ("Edge:Tls:HttpsRedirect:Enabled", "true"),
            ("Edge:Tls:HttpsRedirect:StatusCode", "302000"),
            ("Edge:Http2:MaxStreamsPerConnection", "0"),
            ("Edge:Http2:InitialStreamWindowSize", "100"),
            ("Edge:Http2:PriorKnowledgeUrls", "https://127.0.0.1:0"),
            ("Edge:Replay:MaxEvents", "-1"));

        var failures = await StartFailuresAsync(settings);
        Assert.True(failures.Count >= 11, string.Join("\n", failures));
        Assert.Contains(failures, f => f.StartsWith("Edge:Replay:MaxEvents", StringComparison.Ordinal));

        Assert.Contains(failures, f => f.StartsWith("Edge:Tls:Certificates:missing:Path", StringComparison.Ordinal) && f.Contains("nope.pem", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Tls:Certificates:nokey", StringComparison.Ordinal) && f.Contains("edge.crt.pem", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Tls:Certificates:bad:", StringComparison.Ordinal) && f.Contains("garbage.pem", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Tls:Certificates:bad:Hosts", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Tls:DefaultCertificate", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Tls:Protocols", StringComparison.Ordinal) && f.Contains("Tls11", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Tls:HttpsRedirect:StatusCode", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Http2:MaxStreamsPerConnection", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Http2:InitialStreamWindowSize", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Http2:PriorKnowledgeUrls", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HttpsUrl_WithoutACertificate_StopsTheStart()
    {
        var failures = await StartFailuresAsync(TestSettings.Default(("Edge:Urls", "https://127.0.0.1:0")));
        Assert.Contains(failures, f => f.StartsWith("Edge:Urls", StringComparison.Ordinal) && f.Contains("Edge:Tls:Certificates", StringComparison.Ordinal));
    }

    [Fact]
    public async Task KestrelEndpoints_StillWork_WithTheirOwnCertificate_OverHttp2()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("kestrel", TestCertificates.Create("kestrel.test"));
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Kestrel:Endpoints:Https:Url", "https://127.0.0.1:0"),
            ("Kestrel:Endpoints:Https:Certificate:Path", cert),
            ("Kestrel:Endpoints:Https:Certificate:KeyPath", key)));
        var https = TlsTestKit.Addresses(edge).Single();
        Assert.Equal("https", https.Scheme);

        var handshake = await TlsTestKit.HandshakeAsync(https.Port, "kestrel.test", alpn: "h2");
        Assert.Equal("kestrel.test", handshake.CommonName);
        Assert.Equal("h2", handshake.Alpn);
        Assert.True(handshake.Protocol >= SslProtocols.Tls12);

        using var client = TlsTestKit.Client(https, HttpVersion.Version20);
        await using var stream = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c");
        Assert.Equal(HttpVersion.Version20, stream.Response.Version);
        await stream.ReadFrameAsync(Wait);
        await TlsTestKit.PublishAsync(client, """{"channel":"c","data":"kestrel endpoint"}""");
        Assert.Equal("kestrel endpoint", (await stream.ReadEventAsync(Wait)).Data);
    }

    internal static async Task<List<string>> StartFailuresAsync(Dictionary<string, string?> settings)
    {
        var thrown = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var edge = await EdgeTestHost.StartAsync(settings);
        });
        var failures = thrown switch
        {
            OptionsValidationException single => single.Failures.ToList(),
            AggregateException all => all.InnerExceptions.OfType<OptionsValidationException>().SelectMany(e => e.Failures).ToList(),
            _ => throw new Xunit.Sdk.XunitException("Start failed with something other than a validation error: " + thrown),
        };
        return failures;
    }
}
