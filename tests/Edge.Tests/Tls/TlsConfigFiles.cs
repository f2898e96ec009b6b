using System.Net;
using Edge.Testing;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace Edge.Tests.Tls;

/// <summary><c>config/edge.tls.json</c>: it starts as written (with certificates made here in place of its files) and serves a stream over HTTPS and HTTP/2.</summary>
public sealed class TlsConfigFiles
{
    /// <summary>Points every certificate a configuration file names at a certificate made for the test, and keeps its https address.</summary>
    internal static TestCertificates WithTestCertificates(string configFile, IDictionary<string, string?> settings)
    {
        var certificates = new TestCertificates();
        var configuration = new ConfigurationBuilder().AddJsonFile(configFile).Build();
        foreach (var certificate in configuration.GetSection("Edge:Tls:Certificates").GetChildren())
        {
            var (cert, key) = certificates.WritePem(certificate.Key, TestCertificates.Create("localhost"));
            settings[$"Edge:Tls:Certificates:{certificate.Key}:Path"] = cert;
            settings[$"Edge:Tls:Certificates:{certificate.Key}:KeyPath"] = key;
        }

        // A file that listens on https keeps an https address when a test moves it to random ports.
        if (settings.TryGetValue("Edge:Urls", out var urls) && urls is not null && !urls.Contains("https://", StringComparison.Ordinal)
            && configuration["Edge:Urls"]?.Contains("https://", StringComparison.Ordinal) == true)
        {
            settings["Edge:Urls"] = urls + ";https://127.0.0.1:0";
        }

        return certificates;
    }

    [Fact]
    public async Task TlsExample_RedirectsPlainHttp_AndServesAStreamOverHttp2()
    {
        var file = Path.Combine(Configuration.ConfigFileTests.ConfigDirectory, "edge.tls.json");
        var settings = new Dictionary<string, string?>
        {
            ["Edge:Urls"] = "http://127.0.0.1:0;https://127.0.0.1:0",
            ["Edge:Tls:HttpsRedirect:HttpsPort"] = null,
        };
        using var certificates = WithTestCertificates(file, settings);
        await using var edge = await EdgeTestHost.StartAsync(settings, configFile: file);
        var https = TlsTestKit.Https(edge);

        using var plain = TlsTestKit.Client(TlsTestKit.Addresses(edge).First(a => a.Scheme == "http"), redirects: false);
        using var redirected = await plain.GetAsync("events");
        Assert.Equal(HttpStatusCode.PermanentRedirect, redirected.StatusCode);

        using var client = TlsTestKit.Client(new Uri($"https://localhost:{https.Port}/"), HttpVersion.Version20);
        await using var stream = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c");
        Assert.Equal(HttpVersion.Version20, stream.Response.Version);
        await stream.ReadFrameAsync(TlsTestKit.Wait);
        await TlsTestKit.PublishAsync(client, """{"channel":"c","data":"from the example"}""");
        Assert.Equal("from the example", (await stream.ReadEventAsync(TlsTestKit.Wait)).Data);
    }
}
