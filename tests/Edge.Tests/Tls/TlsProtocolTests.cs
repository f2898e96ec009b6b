using System.Security.Authentication;
using Edge.Testing;
using Xunit;

namespace Edge.Tests.Tls;

/// <summary>TLS versions: 1.2 and 1.3 by default, never anything older, and <c>Edge:Tls:Protocols</c> narrows them.</summary>
public sealed class TlsProtocolTests
{
    [Fact]
    public async Task Default_AcceptsTls12AndTls13_AndRefusesTls11()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key));
        var port = TlsTestKit.Https(edge).Port;

        Assert.Equal(SslProtocols.Tls12, (await TlsTestKit.HandshakeAsync(port, "edge.test", SslProtocols.Tls12)).Protocol);
        Assert.Equal(SslProtocols.Tls13, (await TlsTestKit.HandshakeAsync(port, "edge.test", SslProtocols.Tls13)).Protocol);

        // The client's OpenSSL may refuse TLS 1.1 by itself too; either way no TLS 1.1 session exists.
#pragma warning disable SYSLIB0039 // TLS 1.1 is what is being refused.
        await Assert.ThrowsAnyAsync<Exception>(() => TlsTestKit.HandshakeAsync(port, "edge.test", SslProtocols.Tls11));
#pragma warning restore SYSLIB0039
    }

    [Fact]
    public async Task Tls13Only_RefusesATls12Client()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key, ("Edge:Tls:Protocols:0", "Tls13")));
        var port = TlsTestKit.Https(edge).Port;

        Assert.Equal(SslProtocols.Tls13, (await TlsTestKit.HandshakeAsync(port, "edge.test", SslProtocols.Tls13)).Protocol);
        await Assert.ThrowsAnyAsync<Exception>(() => TlsTestKit.HandshakeAsync(port, "edge.test", SslProtocols.Tls12));
    }
}
