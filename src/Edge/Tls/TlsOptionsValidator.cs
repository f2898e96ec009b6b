using System.Security.Authentication;
using Edge.Configuration;
using Microsoft.Extensions.Options;

namespace Edge.Tls;

/// <summary>
/// Checks <c>Edge:Tls</c> at start and reports every error at once, each naming its key; loads each
/// certificate once, so a file that cannot be used stops the start with its path and the reason.
/// </summary>
internal sealed class TlsOptionsValidator(IConfiguration configuration) : IValidateOptions<EdgeTlsOptions>
{
    private static readonly int[] RedirectStatusCodes = [301, 302, 307, 308];

    public ValidateOptionsResult Validate(string? name, EdgeTlsOptions options)
    {
        var errors = new List<string>();
        const string prefix = EdgeTlsOptions.SectionName;
        var hostOwners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (certificateName, certificate) in options.Certificates)
        {
            ValidateCertificate($"{prefix}:Certificates:{certificateName}", certificateName, certificate, hostOwners, errors);
        }

        if (options.DefaultCertificate is { } defaultName)
        {
            if (!options.Certificates.ContainsKey(defaultName))
            {
                errors.Add($"{prefix}:DefaultCertificate: '{defaultName}' is not a certificate under {prefix}:Certificates.");
            }
        }
        else if (options.Certificates.Count > 1)
        {
            errors.Add($"{prefix}:DefaultCertificate must name the certificate served when the SNI name matches none (one of: {string.Join(", ", options.Certificates.Keys)}).");
        }

        TryParseProtocols(options.Protocols, errors, out _);

        if (options.ReloadCheckInterval <= TimeSpan.Zero)
        {
            errors.Add($"{prefix}:ReloadCheckInterval must be positive, e.g. 00:00:05.");
        }

        OptionChecks.NotNegative(options.ReloadDebounce, $"{prefix}:ReloadDebounce", errors);

        var urlErrors = new List<string>();
        var urls = ListenAddress.ParseAll(configuration[$"{EdgeOptions.SectionName}:Urls"] ?? new EdgeOptions().Urls, "Edge:Urls", priorKnowledge: false, urlErrors);
        var https = urls.Where(u => u.Kind == ListenKind.Https).ToList();
        if (https.Count > 0 && !options.HasCertificates && !KestrelEndpointsConfigured(configuration))
        {
            errors.Add($"Edge:Urls: '{https[0].Url}' is an https:// address, but {prefix}:Certificates names no certificate for it.");
        }

        if (options.HttpsRedirect.Enabled)
        {
            if (Array.IndexOf(RedirectStatusCodes, options.HttpsRedirect.StatusCode) < 0)
            {
                errors.Add($"{prefix}:HttpsRedirect:StatusCode must be 301, 302, 307 or 308, not {options.HttpsRedirect.StatusCode}.");
            }

            if (options.HttpsRedirect.HttpsPort is { } port && port is < 1 or > 65535)
            {
                errors.Add($"{prefix}:HttpsRedirect:HttpsPort must be a port (1-65535), not {port}.");
            }
            else if (options.HttpsRedirect.HttpsPort is null && https.Select(u => u.Port).Distinct().Count() > 1)
            {
                errors.Add($"{prefix}:HttpsRedirect:HttpsPort must be set: Edge:Urls has https:// addresses on several ports.");
            }
            else if (options.HttpsRedirect.HttpsPort is null && https.Count == 0 && !KestrelEndpointsConfigured(configuration))
            {
                errors.Add($"{prefix}:HttpsRedirect:HttpsPort must be set: Edge:Urls has no https:// address to redirect to.");
            }
        }

        OptionChecks.NotNegative(options.Hsts.MaxAge, $"{prefix}:Hsts:MaxAge", errors);

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>True when Kestrel's own <c>Kestrel:Endpoints</c> are configured; they replace <c>Edge:Urls</c>.</summary>
    internal static bool KestrelEndpointsConfigured(IConfiguration configuration) =>
        configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();

    /// <summary><c>Tls12</c> and <c>Tls13</c> only; none given means both.</summary>
    internal static bool TryParseProtocols(List<string>? protocols, List<string> errors, out SslProtocols parsed)
    {
        parsed = SslProtocols.None;
        if (protocols is null)
        {
            parsed = SslProtocols.Tls12 | SslProtocols.Tls13;
            return true;
        }

        if (protocols.Count == 0)
        {
            errors.Add($"{EdgeTlsOptions.SectionName}:Protocols must list Tls12, Tls13 or both.");
            return false;
        }

        var ok = true;
        foreach (var protocol in protocols)
        {
            switch (protocol.Trim().Replace(".", string.Empty, StringComparison.Ordinal).ToLowerInvariant())
            {
                case "tls12":
                    parsed |= SslProtocols.Tls12;
                    break;
                case "tls13":
                    parsed |= SslProtocols.Tls13;
                    break;
                case "ssl2" or "ssl3" or "tls" or "tls10" or "tls11":
                    errors.Add($"{EdgeTlsOptions.SectionName}:Protocols: '{protocol}' is older than TLS 1.2 and is never accepted; use Tls12, Tls13.");
                    ok = false;
                    break;
                default:
                    errors.Add($"{EdgeTlsOptions.SectionName}:Protocols: '{protocol}' is not a TLS version; use Tls12, Tls13.");
                    ok = false;
                    break;
            }
        }

        return ok;
    }

    private static void ValidateCertificate(string key, string name, TlsCertificateOptions certificate, Dictionary<string, string> hostOwners, List<string> errors)
    {
        foreach (var host in certificate.Hosts)
        {
            if (!IsHostPattern(host))
            {
                errors.Add($"{key}:Hosts: '{host}' is not a host name or a wildcard like *.example.com.");
            }
            else if (!hostOwners.TryAdd(host, name))
            {
                errors.Add($"{key}:Hosts: '{host}' is already served by certificate '{hostOwners[host]}'.");
            }
        }

        if (string.IsNullOrWhiteSpace(certificate.Path))
        {
            errors.Add($"{key}:Path must name the certificate file (PEM, or .pfx/.p12).");
            return;
        }

        var path = Path.GetFullPath(certificate.Path);
        if (!File.Exists(path))
        {
            errors.Add($"{key}:Path: '{path}' does not exist.");
            return;
        }

        if (certificate.KeyPath is { Length: > 0 } keyPath)
        {
            if (TlsCertificateFiles.IsPkcs12(path))
            {
                errors.Add($"{key}:KeyPath must be left out: '{path}' is PKCS#12 and holds its key.");
                return;
            }

            if (!File.Exists(Path.GetFullPath(keyPath)))
            {
                errors.Add($"{key}:KeyPath: '{Path.GetFullPath(keyPath)}' does not exist.");
                return;
            }
        }

        try
        {
            using var loaded = TlsCertificateFiles.Load(certificate);
            if (!TlsCertificateFiles.AllowsServerAuthentication(loaded))
            {
                errors.Add($"{key}: '{TlsCertificateFiles.PathsOf(certificate)[0]}' cannot serve TLS: its extended key usage does not include server authentication (1.3.6.1.5.5.7.3.1).");
            }
        }
        catch (Exception ex)
        {
            errors.Add($"{key}: '{string.Join("', '", TlsCertificateFiles.PathsOf(certificate))}' could not be loaded: {ex.Message}");
        }
    }

    private static bool IsHostPattern(string host)
    {
        var name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        return name.Length > 0 && Uri.CheckHostName(name) == UriHostNameType.Dns && !name.Contains('*', StringComparison.Ordinal);
    }
}
