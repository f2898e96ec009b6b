using Microsoft.Extensions.Options;

namespace Edge.Tls;

public static class TlsApplicationBuilderExtensions
{
    /// <summary>
    /// HSTS on HTTPS responses and the redirect of plain-HTTP requests to HTTPS, when
    /// <c>Edge:Tls:Hsts</c> / <c>Edge:Tls:HttpsRedirect</c> enable them. Goes after the forwarded
    /// headers, so a request a trusted load balancer received over HTTPS is not redirected.
    /// Cleartext HTTP/2 (h2c) is never redirected: only a load balancer that already terminated
    /// TLS speaks it.
    /// </summary>
    public static IApplicationBuilder UseEdgeTls(this IApplicationBuilder app)
    {
        var tls = app.ApplicationServices.GetRequiredService<IOptions<EdgeTlsOptions>>().Value;
        if (tls.Hsts.Enabled)
        {
            app.UseHsts();
        }

        if (tls.HttpsRedirect.Enabled)
        {
            app.UseWhen(static context => !IsCleartextHttp2(context), static redirect => redirect.UseHttpsRedirection());
        }

        return app;
    }

    internal static bool IsCleartextHttp2(HttpContext context) =>
        !context.Request.IsHttps && HttpProtocol.IsHttp2(context.Request.Protocol);
}
