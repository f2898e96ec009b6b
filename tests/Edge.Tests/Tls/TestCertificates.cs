using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Edge.Tests.Tls;

/// <summary>Self-signed certificates made by the test, written as PEM or PKCS#12 files to a temporary folder of its own.</summary>
internal sealed class TestCertificates : IDisposable
{
    public TestCertificates()
    {
        Folder = Directory.CreateTempSubdirectory("edge-tls-").FullName;
    }

    public string Folder { get; }

    public static X509Certificate2 Create(string commonName, params string[] dnsNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames.Length > 0 ? dnsNames : [commonName])
        {
            san.AddDnsName(name);
        }

        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7));
    }

    /// <summary>
    /// A certificate for <paramref name="dnsName"/> issued by an intermediate CA issued by a root CA,
    /// as a public CA's chain is: returns the leaf (with its key) and the intermediate.
    /// </summary>
    public static (X509Certificate2 Leaf, X509Certificate2 Intermediate) CreateChain(string dnsName, string? leafUsage = "1.3.6.1.5.5.7.3.1")
    {
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=Edge Test Root", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var root = rootRequest.CreateSelfSigned(notBefore, notBefore.AddDays(30));

        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var intermediateRequest = new CertificateRequest("CN=Edge Test Intermediate", intermediateKey, HashAlgorithmName.SHA256);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var intermediate = intermediateRequest.Create(root, notBefore, notBefore.AddDays(20), [1, 2, 3, 4]);

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest($"CN={dnsName}", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        leafRequest.CertificateExtensions.Add(san.Build());
        if (leafUsage is not null)
        {
            leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(leafUsage)], critical: false));
        }

        using var issuer = intermediate.CopyWithPrivateKey(intermediateKey);
        using var leaf = leafRequest.Create(issuer, notBefore, notBefore.AddDays(10), [5, 6, 7, 8]);
        return (leaf.CopyWithPrivateKey(leafKey), intermediate);
    }

    /// <summary>Writes <c>{name}.fullchain.pem</c> (the leaf, then the intermediate) and <c>{name}.key.pem</c>.</summary>
    public (string Cert, string Key) WriteFullChainPem(string name, X509Certificate2 leaf, X509Certificate2 intermediate)
    {
        var cert = Path.Combine(Folder, name + ".fullchain.pem");
        var key = Path.Combine(Folder, name + ".key.pem");
        File.WriteAllText(cert, leaf.ExportCertificatePem() + "\n" + intermediate.ExportCertificatePem() + "\n");
        File.WriteAllText(key, leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }

    /// <summary>Writes <c>{name}.crt.pem</c> and <c>{name}.key.pem</c> (overwriting them in place) and returns their paths.</summary>
    public (string Cert, string Key) WritePem(string name, X509Certificate2 certificate)
    {
        var cert = Path.Combine(Folder, name + ".crt.pem");
        var key = Path.Combine(Folder, name + ".key.pem");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(key, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }

    public string WritePfx(string name, X509Certificate2 certificate, string password)
    {
        var path = Path.Combine(Folder, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
