using System.Net.Security;
using System.Security.Authentication;

namespace Edge.Bench;

/// <summary>
/// The client side of TLS for the streams: TLS 1.2 and 1.3, SNI <c>localhost</c>, any server
/// certificate accepted (the run's own self-signed one), optionally a fixed list of cipher suites.
/// </summary>
internal static class TlsClient
{
    public const string ServerName = "localhost";

    /// <summary>
    /// Every stream makes a full handshake, as 10,000 distinct browsers would: .NET's client would
    /// otherwise resume sessions it cached for the same host, and a server that issues tickets
    /// (nginx by default) would be measured on cheaper opens than one that does not.
    /// </summary>
    public static void DisableResumption() => AppContext.SetSwitch("System.Net.Security.DisableTlsResume", true);

    public static SslClientAuthenticationOptions Options(Target target, SslApplicationProtocol protocol)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = ServerName,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ApplicationProtocols = [protocol],
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        };
        if (target.TlsCiphers is { Count: > 0 } names && !OperatingSystem.IsWindows())
        {
            options.CipherSuitesPolicy = new CipherSuitesPolicy(names.Select(n => Enum.Parse<TlsCipherSuite>(n, ignoreCase: true)));
        }

        return options;
    }

    /// <summary>What was negotiated, e.g. <c>Tls13 TLS_AES_256_GCM_SHA384 http/1.1</c>: the report shows it per target.</summary>
    public static string Describe(SslStream tls) =>
        $"{tls.SslProtocol} {tls.NegotiatedCipherSuite} {tls.NegotiatedApplicationProtocol}";
}
