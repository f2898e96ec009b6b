using System.Net;
using Edge.Configuration;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Edge.Http;

/// <summary>Turns <c>Edge:ForwardedHeaders</c> into ASP.NET Core's <see cref="ForwardedHeadersOptions"/>, and checks it at start.</summary>
internal sealed class ForwardedHeadersSetup(IOptions<EdgeOptions> edge) : IConfigureOptions<ForwardedHeadersOptions>
{
    private const string Key = "Edge:ForwardedHeaders";

    public void Configure(ForwardedHeadersOptions options)
    {
        var settings = edge.Value.ForwardedHeaders;
        if (!settings.Enabled)
        {
            return;
        }

        options.ForwardedHeaders = ParseHeaders(settings.Headers, errors: null);
        options.ForwardLimit = settings.ForwardLimit == 0 ? null : settings.ForwardLimit;
        if (settings.KnownProxies is { Count: > 0 } || settings.KnownNetworks is { Count: > 0 })
        {
            // Named proxies replace ASP.NET Core's default (loopback only).
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in settings.KnownProxies ?? [])
            {
                options.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in settings.KnownNetworks ?? [])
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        }
    }

    /// <summary>Adds an error, naming its key, for every value that cannot be used.</summary>
    public static void Validate(ForwardedHeadersSettings settings, List<string> errors)
    {
        if (!settings.Enabled)
        {
            return;
        }

        ParseHeaders(settings.Headers, errors);
        if (settings.ForwardLimit < 0)
        {
            errors.Add($"{Key}:ForwardLimit must be 0 (no limit) or more; it is {settings.ForwardLimit}.");
        }

        for (var i = 0; i < (settings.KnownProxies?.Count ?? 0); i++)
        {
            if (!IPAddress.TryParse(settings.KnownProxies![i], out _))
            {
                errors.Add($"{Key}:KnownProxies:{i}: '{settings.KnownProxies[i]}' is not an IP address.");
            }
        }

        for (var i = 0; i < (settings.KnownNetworks?.Count ?? 0); i++)
        {
            if (!System.Net.IPNetwork.TryParse(settings.KnownNetworks![i], out _))
            {
                errors.Add($"{Key}:KnownNetworks:{i}: '{settings.KnownNetworks[i]}' is not a network in CIDR form, e.g. 10.0.0.0/8.");
            }
        }
    }

    private static ForwardedHeaders ParseHeaders(List<string>? names, List<string>? errors)
    {
        if (names is null || names.Count == 0)
        {
            return ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        }

        var headers = ForwardedHeaders.None;
        for (var i = 0; i < names.Count; i++)
        {
            if (Enum.TryParse<ForwardedHeaders>(names[i], ignoreCase: true, out var header) && header != ForwardedHeaders.None && !int.TryParse(names[i], out _))
            {
                headers |= header;
            }
            else
            {
                errors?.Add($"{Key}:Headers:{i}: '{names[i]}' is not one of XForwardedFor, XForwardedProto, XForwardedHost, XForwardedPrefix, All.");
            }
        }

        return headers;
    }
}
