using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Edge.Tls;

/// <summary>Reads one configured certificate from its files: PEM certificate and key, or PKCS#12.</summary>
internal static class TlsCertificateFiles
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    /// <summary>
    /// Loads the certificate, its key and the chain the files hold after it (PEM: the certificates
    /// after the first, as in a <c>fullchain.pem</c>; PKCS#12: the others), ready to serve: the
    /// chain is resolved once here, not at every handshake. Offline: nothing is fetched from the
    /// network, the files and the system store are the chain.
    /// </summary>
    public static SslStreamCertificateContext LoadForServer(TlsCertificateOptions options)
    {
        var certificate = Load(options);
        try
        {
            if (!AllowsServerAuthentication(certificate))
            {
                throw new CryptographicException("the certificate's extended key usage does not include server authentication (1.3.6.1.5.5.7.3.1).");
            }

            return SslStreamCertificateContext.Create(certificate, LoadChain(options, certificate), offline: true);
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>True when the certificate has no extended key usage extension or one that includes server authentication.</summary>
    public static bool AllowsServerAuthentication(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension usage)
            {
                foreach (var oid in usage.EnhancedKeyUsages)
                {
                    if (oid.Value == ServerAuthentication)
                    {
                        return true;
                    }
                }

                return false;
            }
        }

        return true;
    }

    /// <summary>The certificates the files hold besides <paramref name="certificate"/>: its intermediates.</summary>
    public static X509Certificate2Collection LoadChain(TlsCertificateOptions options, X509Certificate2 certificate)
    {
        var path = System.IO.Path.GetFullPath(options.Path!);
        var all = IsPkcs12(path)
            ? X509CertificateLoader.LoadPkcs12CollectionFromFile(path, options.Password, X509KeyStorageFlags.EphemeralKeySet)
            : PemCertificates(path);
        var chain = new X509Certificate2Collection();
        foreach (var other in all)
        {
            if (other.Thumbprint == certificate.Thumbprint)
            {
                other.Dispose();
            }
            else
            {
                chain.Add(other);
            }
        }

        return chain;
    }

    private static X509Certificate2Collection PemCertificates(string path)
    {
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(path);
        return all;
    }

    public static bool IsPkcs12(string path) =>
        path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase);

    /// <summary>The files a certificate is read from, full paths, in a fixed order.</summary>
    public static string[] PathsOf(TlsCertificateOptions options)
    {
        var cert = System.IO.Path.GetFullPath(options.Path!);
        return options.KeyPath is { Length: > 0 } key && !IsPkcs12(cert) ? [cert, System.IO.Path.GetFullPath(key)] : [cert];
    }

    /// <summary>Loads the certificate with its private key; throws with the file and the reason when it cannot.</summary>
    public static X509Certificate2 Load(TlsCertificateOptions options)
    {
        var path = System.IO.Path.GetFullPath(options.Path!);
        X509Certificate2 certificate;
        if (IsPkcs12(path))
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, options.Password, X509KeyStorageFlags.EphemeralKeySet);
        }
        else
        {
            var keyPath = options.KeyPath is { Length: > 0 } key ? System.IO.Path.GetFullPath(key) : null;
            certificate = options.Password is { Length: > 0 } password
                ? X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath)
                : X509Certificate2.CreateFromPemFile(path, keyPath);
            if (OperatingSystem.IsWindows())
            {
                // SChannel cannot use an ephemeral PEM key for a server handshake.
                using var ephemeral = certificate;
                certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
            }
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new CryptographicException("the certificate has no private key.");
        }

        return certificate;
    }

    /// <summary>The DNS names of the certificate's subject alternative name extension.</summary>
    public static List<string> DnsNames(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
            }
        }

        return names;
    }

    /// <summary>A hash of the files' bytes (a missing file counts as empty), to notice any change however it was made.</summary>
    public static string Fingerprint(string[] paths)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in paths)
        {
            try
            {
                hash.AppendData(File.ReadAllBytes(path));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                hash.AppendData("missing"u8);
            }

            hash.AppendData([0]);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
