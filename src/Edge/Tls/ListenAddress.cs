using System.Net;

namespace Edge.Tls;

/// <summary>How an address of <c>Edge:Urls</c> (or <c>Edge:Http2:PriorKnowledgeUrls</c>) is served.</summary>
internal enum ListenKind
{
    /// <summary>Plain HTTP/1.1.</summary>
    Http,

    /// <summary>TLS with the <c>Edge:Tls</c> certificates; HTTP/2 and HTTP/1.1 by ALPN.</summary>
    Https,

    /// <summary>Cleartext HTTP/2 with prior knowledge only.</summary>
    H2c,
}

/// <summary>One listen address, parsed as Kestrel parses <c>--urls</c>.</summary>
internal sealed record ListenAddress(string Url, ListenKind Kind, string Host, int Port, IPAddress? Address, string? UnixSocketPath)
{
    public bool IsLocalhost => Address is null && UnixSocketPath is null && string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase);

    /// <summary><c>*</c>, <c>+</c> or a host name: every interface, as Kestrel binds them.</summary>
    public bool IsAnyIp => Address is null && UnixSocketPath is null && !IsLocalhost;

    /// <summary>Splits <paramref name="urls"/> (<c>;</c>-separated) into addresses; a bad one is reported through <paramref name="error"/> with its key.</summary>
    public static List<ListenAddress> ParseAll(string? urls, string key, bool priorKnowledge, List<string> errors)
    {
        var parsed = new List<ListenAddress>();
        foreach (var url in (urls ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (TryParse(url, priorKnowledge, out var address, out var error))
            {
                parsed.Add(address);
            }
            else
            {
                errors.Add($"{key}: '{url}' {error}");
            }
        }

        return parsed;
    }

    public static bool TryParse(string url, bool priorKnowledge, out ListenAddress address, out string error)
    {
        address = null!;
        error = string.Empty;
        BindingAddress binding;
        try
        {
            binding = BindingAddress.Parse(url);
        }
        catch (FormatException ex)
        {
            error = "is not a listen address: " + ex.Message;
            return false;
        }

        var scheme = binding.Scheme.ToLowerInvariant();
        ListenKind kind;
        if (scheme == "https" && !priorKnowledge)
        {
            kind = ListenKind.Https;
        }
        else if (scheme == "http")
        {
            kind = priorKnowledge ? ListenKind.H2c : ListenKind.Http;
        }
        else
        {
            error = priorKnowledge ? "must be an http:// address (h2c is cleartext)." : "is not an http:// or https:// address.";
            return false;
        }

        if (binding.IsUnixPipe)
        {
            address = new ListenAddress(url, kind, binding.Host, 0, null, binding.UnixPipePath);
            return true;
        }

        if (binding.PathBase.Length > 0)
        {
            error = "must not have a path.";
            return false;
        }

        var host = binding.Host;
        IPAddress? ip = null;
        if (host.Length > 0 && host != "*" && host != "+" && !IPAddress.TryParse(host.Trim('[', ']'), out ip))
        {
            ip = null;
        }

        address = new ListenAddress(url, kind, host, binding.Port, ip, null);
        if (address.IsLocalhost && binding.Port == 0)
        {
            error = "binds localhost to port 0, which Kestrel refuses (two loopback addresses cannot share a random port); use 127.0.0.1:0.";
            return false;
        }

        return true;
    }
}
