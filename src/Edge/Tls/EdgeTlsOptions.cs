namespace Edge.Tls;

/// <summary>
/// The <c>Edge:Tls</c> section as the user wrote it: the certificates the <c>https://</c> addresses of
/// <c>Edge:Urls</c> serve, chosen by SNI, reloaded when their files change; the TLS versions; the
/// HTTP to HTTPS redirect and HSTS.
/// </summary>
public sealed class EdgeTlsOptions
{
    public const string SectionName = "Edge:Tls";

    /// <summary>Certificates by name; each names its files and the host names it serves.</summary>
    public Dictionary<string, TlsCertificateOptions> Certificates { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The certificate served when the client's SNI name matches no certificate's hosts (or it sent
    /// none). Required with more than one certificate; with one, that one.
    /// </summary>
    public string? DefaultCertificate { get; set; }

    /// <summary>TLS versions offered: <c>Tls12</c>, <c>Tls13</c>. Nothing older is accepted. Default both.</summary>
    public List<string>? Protocols { get; set; }

    /// <summary>Watch the certificate files and serve new files to new handshakes without a restart. Default true.</summary>
    public bool ReloadOnChange { get; set; } = true;

    /// <summary>How often the files are read and compared (polling: works where file events do not). Default 5 s.</summary>
    public TimeSpan ReloadCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long changed files must stay the same before they are loaded (a certificate and its key are written one after the other). Default 2 s.</summary>
    public TimeSpan ReloadDebounce { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// On the <c>https://</c> addresses of <c>Edge:Urls</c>, OpenSSL frees a connection's record
    /// buffers while it is idle (<c>SSL_MODE_RELEASE_BUFFERS</c>, <see cref="TlsIdleBuffers"/>). Linux. Default true.
    /// </summary>
    public bool ReleaseIdleBuffers { get; set; } = true;

    public HttpsRedirectSettings HttpsRedirect { get; set; } = new();

    public HstsSettings Hsts { get; set; } = new();

    /// <summary>True when any certificate is configured.</summary>
    internal bool HasCertificates => Certificates.Count > 0;
}

/// <summary>One certificate: a PEM certificate with its PEM key, or a PKCS#12 (PFX) file, with the host names it serves.</summary>
public sealed class TlsCertificateOptions
{
    /// <summary>
    /// The certificate file: PEM (the certificate, then its chain), or PKCS#12 when the name ends in
    /// <c>.pfx</c> or <c>.p12</c>. Relative paths are from the working directory.
    /// </summary>
    public string? Path { get; set; }

    /// <summary>The PEM private key; may be left out when the key is in <see cref="Path"/>. Not used with PKCS#12.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The PKCS#12 password, or the password of an encrypted PEM key.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// SNI names served with this certificate: <c>edge.example.com</c>, or <c>*.example.com</c> for
    /// one label below <c>example.com</c>. Empty: the DNS names in the certificate.
    /// </summary>
    public List<string> Hosts { get; set; } = [];
}

/// <summary><c>Edge:Tls:HttpsRedirect</c>: plain-HTTP requests are answered with a redirect to HTTPS.</summary>
public sealed class HttpsRedirectSettings
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary><c>301</c>, <c>302</c>, <c>307</c> or <c>308</c>. Default <c>308</c> (permanent, method kept).</summary>
    public int StatusCode { get; set; } = 308;

    /// <summary>The port in the <c>Location</c>; default: the port of the one <c>https://</c> address the edge listens on.</summary>
    public int? HttpsPort { get; set; }
}

/// <summary><c>Edge:Tls:Hsts</c>: the <c>Strict-Transport-Security</c> header on HTTPS responses.</summary>
public sealed class HstsSettings
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary><c>max-age</c>. Default 365 days.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(365);

    public bool IncludeSubDomains { get; set; }

    public bool Preload { get; set; }

    /// <summary>
    /// Hosts that never get the header. Default (when left out) ASP.NET Core's: <c>localhost</c>,
    /// <c>127.0.0.1</c>, <c>[::1]</c>; an empty list (<c>[]</c> in JSON) excludes nothing.
    /// </summary>
    public List<string>? ExcludedHosts { get; set; }

    internal static readonly string[] DefaultExcludedHosts = ["localhost", "127.0.0.1", "[::1]"];
}
