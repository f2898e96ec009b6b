using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Edge.Diagnostics;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Edge.Tls;

/// <summary>
/// Holds the certificates of <c>Edge:Tls</c> and picks one per TLS handshake by its SNI name
/// (Kestrel's TLS handshake callback). Each certificate's chain is resolved when it is loaded:
/// Kestrel's <c>ServerCertificateSelector</c> would hand <c>SslStream</c> a bare certificate, and
/// it builds the chain again at every handshake (bench/README.md, "Where a TLS handshake's CPU
/// goes"), and sends no intermediate the system store lacks. A reload swaps the whole set at once: handshakes
/// after it get the new certificate, connections already open keep theirs. A certificate whose new
/// files do not load keeps its previous certificate.
/// </summary>
internal sealed partial class TlsCertificateSelector
{
    private readonly EdgeTlsOptions _options;
    private readonly ILogger<TlsCertificateSelector> _logger;
    private readonly Lock _reloading = new();
    private readonly Dictionary<string, IReadOnlyList<string>> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, SslStreamCertificateContext> _current = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _fingerprints = new(StringComparer.OrdinalIgnoreCase);
    private readonly string _defaultName;
    private volatile TlsCertificateSet? _set;

    public TlsCertificateSelector(IOptions<EdgeTlsOptions> options, ILogger<TlsCertificateSelector> logger)
    {
        _options = options.Value;
        _logger = logger;
        _defaultName = _options.DefaultCertificate ?? _options.Certificates.Keys.FirstOrDefault() ?? string.Empty;
        if (_options.HasCertificates)
        {
            // Now, when Kestrel is configured, not at the first handshake: the files validated at
            // start are the ones served, and a file changed since is the reloader's to judge.
            LoadAll();
        }
    }

    public EdgeTlsOptions Options => _options;

    /// <summary>The certificates now served.</summary>
    public TlsCertificateSet Current => _set ?? throw new InvalidOperationException("Edge:Tls names no certificate.");

    /// <summary>The fingerprint of each certificate's files as they were when it was last loaded or tried.</summary>
    public IReadOnlyDictionary<string, string> LoadedFingerprints => _fingerprints;

    /// <summary>
    /// For Kestrel's <see cref="TlsHandshakeCallbackOptions.OnConnection"/>, with the endpoint's TLS
    /// versions as its state. ALPN is left to Kestrel, which sets it from the endpoint's protocols.
    /// </summary>
    public ValueTask<SslServerAuthenticationOptions> OnHandshake(TlsHandshakeCallbackContext context) =>
        ValueTask.FromResult(new SslServerAuthenticationOptions
        {
            ServerCertificateContext = Current.Select(context.ClientHelloInfo.ServerName),
            EnabledSslProtocols = (SslProtocols)context.State!,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        });

    /// <summary>Loads the named certificate again from its files; on failure logs the file and keeps the certificate served now.</summary>
    public bool TryReload(string name)
    {
        var certificate = _options.Certificates[name];
        SslStreamCertificateContext loaded;
        try
        {
            loaded = TlsCertificateFiles.LoadForServer(certificate);
        }
        catch (Exception ex)
        {
            Log.ReloadFailed(_logger, name, string.Join(", ", TlsCertificateFiles.PathsOf(certificate)), ex.Message);
            return false;
        }

        lock (_reloading)
        {
            _current[name] = loaded;
            _hosts[name] = HostsOf(certificate, loaded);
            _set = new TlsCertificateSet(new Dictionary<string, SslStreamCertificateContext>(_current, StringComparer.OrdinalIgnoreCase), new Dictionary<string, IReadOnlyList<string>>(_hosts, StringComparer.OrdinalIgnoreCase), _defaultName);
        }

        // The previous certificate is not disposed: connections opened with it may still use it.
        var served = loaded.TargetCertificate;
        Log.Reloaded(_logger, name, served.Subject, served.Thumbprint, served.NotAfter);
        return true;
    }

    private TlsCertificateSet LoadAll()
    {
        lock (_reloading)
        {
            if (_set is { } set)
            {
                return set;
            }

            foreach (var (name, certificate) in _options.Certificates)
            {
                // Hashed before reading: a change while loading is seen as one at the next check.
                _fingerprints[name] = TlsCertificateFiles.Fingerprint(TlsCertificateFiles.PathsOf(certificate));
                var loaded = TlsCertificateFiles.LoadForServer(certificate);
                _current[name] = loaded;
                _hosts[name] = HostsOf(certificate, loaded);
                Log.Loaded(_logger, name, loaded.TargetCertificate.Subject, string.Join(", ", _hosts[name]), loaded.TargetCertificate.NotAfter);
            }

            return _set = new TlsCertificateSet(new Dictionary<string, SslStreamCertificateContext>(_current, StringComparer.OrdinalIgnoreCase), new Dictionary<string, IReadOnlyList<string>>(_hosts, StringComparer.OrdinalIgnoreCase), _defaultName);
        }
    }

    private static List<string> HostsOf(TlsCertificateOptions options, SslStreamCertificateContext certificate) =>
        options.Hosts.Count > 0 ? options.Hosts : TlsCertificateFiles.DnsNames(certificate.TargetCertificate);

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.TlsCertificateLoaded, EventName = "TlsCertificateLoaded", Level = LogLevel.Information, Message = "TLS certificate {Name} loaded: {Subject} for {Hosts}, valid until {NotAfter:u}")]
        public static partial void Loaded(ILogger logger, string name, string subject, string hosts, DateTime notAfter);

        [LoggerMessage(EventId = EdgeEventIds.TlsCertificateReloaded, EventName = "TlsCertificateReloaded", Level = LogLevel.Information, Message = "TLS certificate {Name} reloaded: {Subject} ({Thumbprint}), valid until {NotAfter:u}; new handshakes use it")]
        public static partial void Reloaded(ILogger logger, string name, string subject, string thumbprint, DateTime notAfter);

        [LoggerMessage(EventId = EdgeEventIds.TlsCertificateReloadFailed, EventName = "TlsCertificateReloadFailed", Level = LogLevel.Warning, Message = "TLS certificate {Name}: the changed files {Path} could not be loaded ({Reason}); the previous certificate is still served")]
        public static partial void ReloadFailed(ILogger logger, string name, string path, string reason);
    }
}
