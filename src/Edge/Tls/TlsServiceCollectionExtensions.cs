using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Edge.Tls;

public static class TlsServiceCollectionExtensions
{
    /// <summary>
    /// Adds <c>Edge:Tls</c> and <c>Edge:Http2</c>: options validated at start, the SNI certificate
    /// selector and its file watcher, OpenSSL's idle buffers released, HSTS and the HTTPS redirect, and Kestrel's endpoints from
    /// <c>Edge:Urls</c> (unless <c>Kestrel:Endpoints</c> is configured).
    /// </summary>
    public static IServiceCollection AddEdgeTls(this IServiceCollection services, IConfiguration configuration)
    {
        var tlsSection = configuration.GetSection(EdgeTlsOptions.SectionName);
        services.AddOptions<EdgeTlsOptions>().Bind(tlsSection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EdgeTlsOptions>, TlsOptionsValidator>();
        services.AddOptions<EdgeHttp2Options>().Bind(configuration.GetSection(EdgeHttp2Options.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EdgeHttp2Options>, Http2OptionsValidator>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Edge.Configuration.EdgeOptions>, TlsSectionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TlsCertificateSelector>();
        services.TryAddSingleton<TlsIdleBuffers>();
        services.AddHostedService<TlsCertificateReloader>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, EdgeKestrelSetup>());

        services.AddHttpsRedirection(_ => { });
        services.AddOptions<Microsoft.AspNetCore.HttpsPolicy.HttpsRedirectionOptions>().Configure<IOptions<EdgeTlsOptions>>((redirect, tls) =>
        {
            redirect.RedirectStatusCode = tls.Value.HttpsRedirect.StatusCode;
            redirect.HttpsPort = tls.Value.HttpsRedirect.HttpsPort;
        });
        services.AddHsts(_ => { });
        services.AddOptions<Microsoft.AspNetCore.HttpsPolicy.HstsOptions>().Configure<IOptions<EdgeTlsOptions>>((hsts, tls) =>
        {
            var settings = tls.Value.Hsts;
            hsts.MaxAge = settings.MaxAge;
            hsts.IncludeSubDomains = settings.IncludeSubDomains;
            hsts.Preload = settings.Preload;
            hsts.ExcludedHosts.Clear();
            foreach (var host in settings.ExcludedHosts ?? [.. HstsSettings.DefaultExcludedHosts])
            {
                hsts.ExcludedHosts.Add(host);
            }
        });
        return services;
    }
}
