using Edge.Configuration;
using Edge.Streams;
using Edge.Tls;
using Edge.Transports;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Edge.Subscribing;

/// <summary>
/// Opens streams for requests a transport read below Kestrel. Such a request passes what every
/// request passes before the edge sees it, in the order the host applies it to the requests
/// Kestrel serves: host filtering (<c>AllowedHosts</c>), the forwarded headers the host enables by
/// itself (<c>ASPNETCORE_FORWARDEDHEADERS_ENABLED</c>), the edge's own (<c>Edge:ForwardedHeaders</c>),
/// the redirect to HTTPS (<c>Edge:Tls:HttpsRedirect</c>; every request here is plain HTTP/1.1),
/// then the stream's CORS policy and <see cref="SseStreamEndpoint"/>. The same middleware, so the
/// same answers.
/// </summary>
internal sealed class DirectStreamEndpoint : IDirectStreamEndpoint
{
    private readonly StreamCatalog _catalog;
    private readonly SseStreamEndpoint _endpoint;
    private readonly ICorsService _cors;
    private readonly ICorsPolicyProvider _corsPolicies;
    private readonly RequestDelegate _pipeline;

    public DirectStreamEndpoint(
        StreamCatalog catalog,
        SseStreamEndpoint endpoint,
        ICorsService cors,
        ICorsPolicyProvider corsPolicies,
        IServiceProvider services,
        IConfiguration configuration,
        IOptions<EdgeOptions> options,
        IOptions<EdgeTlsOptions> tls)
    {
        _catalog = catalog;
        _endpoint = endpoint;
        _cors = cors;
        _corsPolicies = corsPolicies;
        _pipeline = BuildPipeline(services, configuration, options.Value.ForwardedHeaders.Enabled, tls.Value.HttpsRedirect.Enabled);
    }

    public bool HasStreams => _catalog.Streams.Count > 0;

    public object? Match(string path) => _catalog.Match(path);

    public async Task<IOpenedStream?> OpenAsync(HttpContext context, object stream)
    {
        var route = (StreamRoute)stream;
        var opening = new Opening(route.Stream);
        context.Features.Set<IRouteValuesFeature>(new RouteValuesFeature { RouteValues = route.Values });
        context.Features.Set(opening);
        await _pipeline(context).ConfigureAwait(false);
        return opening.Result is { } open ? new OpenedStream(_endpoint, open) : null;
    }

    private RequestDelegate BuildPipeline(IServiceProvider services, IConfiguration configuration, bool edgeForwardedHeaders, bool httpsRedirect)
    {
        // The server's features, so the redirect finds the https port among the bound addresses.
        var app = new ApplicationBuilder(services, services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features);
        app.UseHostFiltering();
        if (string.Equals(configuration["FORWARDEDHEADERS_ENABLED"], "true", StringComparison.OrdinalIgnoreCase))
        {
            app.UseForwardedHeaders();
        }

        if (edgeForwardedHeaders)
        {
            app.UseForwardedHeaders();
        }

        if (httpsRedirect)
        {
            app.UseHttpsRedirection();
        }

        app.Run(OpenInPipelineAsync);
        return app.Build();
    }

    private async Task OpenInPipelineAsync(HttpContext context)
    {
        var opening = context.Features.GetRequiredFeature<Opening>();
        if (context.Request.Headers.ContainsKey(HeaderNames.Origin)
            && await _corsPolicies.GetPolicyAsync(context, opening.Stream.Options.CorsPolicy).ConfigureAwait(false) is { } policy)
        {
            _cors.ApplyResult(_cors.EvaluatePolicy(context, policy), context.Response);
        }

        opening.Result = await _endpoint.OpenAsync(context, opening.Stream).ConfigureAwait(false);
    }

    /// <summary>The stream a request through the pipeline opens, and what it opened.</summary>
    private sealed class Opening(StreamDefinition stream)
    {
        public StreamDefinition Stream { get; } = stream;

        public OpenStream? Result { get; set; }
    }

    private sealed class OpenedStream(SseStreamEndpoint endpoint, OpenStream open) : IOpenedStream
    {
        public Task ServeAsync() => endpoint.ServeAsync(open);
    }
}
