using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Edge.Tls;

/// <summary>
/// The certificates served at one moment, indexed for a handshake: an exact SNI name first, then a
/// wildcard one label up (<c>a.example.com</c> matches <c>*.example.com</c>, not <c>b.a.example.com</c>),
/// then the default. Each is a ready <see cref="SslStreamCertificateContext"/> (certificate, key and
/// chain). Immutable: a reload builds a new set.
/// </summary>
internal sealed class TlsCertificateSet
{
    private readonly Dictionary<string, SslStreamCertificateContext> _exact;
    private readonly Dictionary<string, SslStreamCertificateContext> _wildcard;

    public TlsCertificateSet(IReadOnlyDictionary<string, SslStreamCertificateContext> byName, IReadOnlyDictionary<string, IReadOnlyList<string>> hostsByName, string defaultName)
    {
        _exact = new Dictionary<string, SslStreamCertificateContext>(StringComparer.OrdinalIgnoreCase);
        _wildcard = new Dictionary<string, SslStreamCertificateContext>(StringComparer.OrdinalIgnoreCase);
        ByName = byName;
        Default = byName[defaultName];
        foreach (var (name, hosts) in hostsByName)
        {
            var certificate = byName[name];
            foreach (var host in hosts)
            {
                if (host.StartsWith("*.", StringComparison.Ordinal))
                {
                    _wildcard.TryAdd(host[2..], certificate);
                }
                else
                {
                    _exact.TryAdd(host, certificate);
                }
            }
        }
    }

    public IReadOnlyDictionary<string, SslStreamCertificateContext> ByName { get; }

    public SslStreamCertificateContext Default { get; }

    public SslStreamCertificateContext Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
        {
            return Default;
        }

        if (_exact.TryGetValue(serverName, out var exact))
        {
            return exact;
        }

        var dot = serverName.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && dot < serverName.Length - 1 && _wildcard.TryGetValue(serverName[(dot + 1)..], out var wildcard))
        {
            return wildcard;
        }

        return Default;
    }

    /// <summary>The certificate served for <paramref name="serverName"/>.</summary>
    public X509Certificate2 CertificateFor(string? serverName) => Select(serverName).TargetCertificate;
}
