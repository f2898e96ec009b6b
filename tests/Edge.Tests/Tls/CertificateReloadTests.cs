using System.Net;
using System.Security.Cryptography.X509Certificates;
using Edge.Diagnostics;
using Edge.Testing;
using Edge.Tests.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Edge.Tests.Tls;

/// <summary>Certificate rotation: new files reach new handshakes without a restart; open streams stay; a bad file keeps the old certificate.</summary>
public sealed class CertificateReloadTests
{
    private static readonly TimeSpan Wait = TlsTestKit.Wait;

    private static (string Key, string? Value)[] FastReload =>
    [
        ("Edge:Tls:ReloadCheckInterval", "00:00:00.100"),
        ("Edge:Tls:ReloadDebounce", "00:00:00.250"),
        ("Logging:LogLevel:Edge", "Information"),
    ];

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task ReplacedFiles_ReachNewHandshakes_WhileAnOpenStreamKeepsReceiving(string version)
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("first.test"));
        var logs = new CapturingLoggerProvider();
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key, FastReload), configureServices: s => s.AddSingleton<ILoggerProvider>(logs));
        var https = TlsTestKit.Https(edge);
        Assert.Equal("first.test", (await TlsTestKit.HandshakeAsync(https.Port, "first.test")).CommonName);

        using var streamClient = TlsTestKit.Client(https, Version.Parse(version));
        await using var stream = await SseTestClient.ConnectAsync(streamClient, ownsClient: false, "/events?channels=c");
        Assert.Equal(Version.Parse(version), stream.Response.Version);
        await stream.ReadFrameAsync(Wait);
        using var _ = await edge.PublishAsync("""{"channel":"c","data":"before"}""");
        Assert.Equal("before", (await stream.ReadEventAsync(Wait)).Data);

        files.WritePem("edge", TestCertificates.Create("second.test"));
        await TlsTestKit.EventuallyAsync(async () => (await TlsTestKit.HandshakeAsync(https.Port, "second.test")).CommonName == "second.test", Wait, "a new handshake gets the new certificate");
        Assert.True(logs.Has(EdgeEventIds.TlsCertificateReloaded, "second.test"), logs.All);

        // The stream opened with the first certificate is still the same connection, still served.
        using var __ = await edge.PublishAsync("""{"channel":"c","data":"after"}""");
        Assert.Equal("after", (await stream.ReadEventAsync(Wait)).Data);
        Assert.False(stream.Ended);
    }

    [Fact]
    public async Task ABadNewFile_IsLoggedWithItsPath_AndTheOldCertificateStays_UntilAGoodOneComes()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("good.test"));
        var logs = new CapturingLoggerProvider();
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key, FastReload), configureServices: s => s.AddSingleton<ILoggerProvider>(logs));
        var port = TlsTestKit.Https(edge).Port;

        await File.WriteAllTextAsync(cert, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
        await TlsTestKit.EventuallyAsync(() => Task.FromResult(logs.Has(EdgeEventIds.TlsCertificateReloadFailed, cert)), Wait, "the bad file is logged with its path");
        Assert.Equal("good.test", (await TlsTestKit.HandshakeAsync(port, "good.test")).CommonName);
        Assert.Single(logs.Entries, e => e.EventId == EdgeEventIds.TlsCertificateReloadFailed);

        // A key that does not belong to the certificate is refused the same way.
        using var other = TestCertificates.Create("other.test");
        await File.WriteAllTextAsync(cert, TestCertificates.Create("mismatch.test").ExportCertificatePem());
        await File.WriteAllTextAsync(key, other.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        await TlsTestKit.EventuallyAsync(() => Task.FromResult(logs.Entries.Count(e => e.EventId == EdgeEventIds.TlsCertificateReloadFailed) == 2), Wait, "the mismatched key is logged");
        Assert.Equal("good.test", (await TlsTestKit.HandshakeAsync(port, "good.test")).CommonName);

        files.WritePem("edge", TestCertificates.Create("fixed.test"));
        await TlsTestKit.EventuallyAsync(async () => (await TlsTestKit.HandshakeAsync(port, "fixed.test")).CommonName == "fixed.test", Wait, "a good file after a bad one is loaded");
        using var client = TlsTestKit.Client(TlsTestKit.Https(edge));
        using var response = await client.GetAsync("_edge/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
