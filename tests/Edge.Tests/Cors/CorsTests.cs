using System.Net;
using Edge.Hosting;
using Edge.Testing;
using Edge.Tests.Functional;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit;

namespace Edge.Tests.Cors;

[Trait("Category", "Identity")]
public sealed class CorsTests
{
    private const string Origin = "https://app.example.com";

    private static (string, string?)[] Policy(bool credentials = true) =>
    [
        ("Edge:Cors:Policies:app:Origins:0", Origin),
        ("Edge:Cors:Policies:app:AllowCredentials", credentials ? "true" : "false"),
        ("Edge:Cors:Policies:app:ExposedHeaders:0", "X-Edge-Cursor"),
    ];

    private static HttpRequestMessage Preflight(string path, string origin = Origin) => new(HttpMethod.Options, path)
    {
        Headers =
        {
            { "Origin", origin },
            { "Access-Control-Request-Method", "GET" },
            { "Access-Control-Request-Headers", "last-event-id,cache-control" },
        },
    };

    [Fact]
    public async Task StreamPreflight_IsAnswered_WithTheConfiguredPolicy()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default([.. Policy(), ("Edge:Streams:events:CorsPolicy", "app")]));
        using var http = edge.CreateClient();
        using var response = await http.SendAsync(Preflight("/events"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(Origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", response.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        var allowed = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
        Assert.Contains("last-event-id", allowed, StringComparison.Ordinal);
        Assert.Contains("cache-control", allowed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamGet_FromAnAllowedOrigin_CarriesCorsHeaders_OthersDoNot()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default([.. Policy(), ("Edge:Streams:events:CorsPolicy", "app")]));
        await using var allowed = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: new Dictionary<string, string> { ["Origin"] = Origin });
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(Origin, allowed.Response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", allowed.Response.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        Assert.Contains("X-Edge-Cursor", allowed.Response.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);

        await using var stranger = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: new Dictionary<string, string> { ["Origin"] = "https://evil.example" });
        Assert.False(stranger.Response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task OptionsOnAStreamWithoutPolicy_Is204_Not405()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var http = edge.CreateClient();
        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/events"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(["GET", "OPTIONS"], response.Content.Headers.Allow);
    }

    [Fact]
    public async Task YarpRoute_CorsPolicy_AnswersPreflightAndAddsHeaders()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/api/hello", () => "hello"));
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
        [
            .. Policy(credentials: false),
            ("ReverseProxy:Routes:api:ClusterId", "app"),
            ("ReverseProxy:Routes:api:Match:Path", "/api/{**rest}"),
            ("ReverseProxy:Routes:api:CorsPolicy", "app"),
            ("ReverseProxy:Clusters:app:Destinations:one:Address", upstream.Address.ToString()),
        ]));
        using var http = edge.CreateClient();
        using var preflight = await http.SendAsync(Preflight("/api/hello"));
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal(Origin, preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/hello") { Headers = { { "Origin", Origin } } };
        using var response = await http.SendAsync(get);
        Assert.Equal("hello", await response.Content.ReadAsStringAsync());
        Assert.Equal(Origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task YarpRoute_WithoutCorsPolicy_LeavesPreflightAndCorsHeadersToTheUpstream()
    {
        const string UpstreamOrigin = "https://upstream.example";
        await using var upstream = await UpstreamTestServer.StartAsync(app =>
        {
            app.MapMethods("/api/hello", ["OPTIONS"], (HttpContext context) =>
            {
                context.Response.Headers.AccessControlAllowOrigin = UpstreamOrigin;
                return Results.Text("upstream preflight");
            });
            app.MapGet("/api/hello", () => "hello");
        });
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
        [
            .. Policy(credentials: false),
            ("ReverseProxy:Routes:api:ClusterId", "app"),
            ("ReverseProxy:Routes:api:Match:Path", "/api/{**rest}"),
            ("ReverseProxy:Clusters:app:Destinations:one:Address", upstream.Address.ToString()),
        ]));
        using var http = edge.CreateClient();
        using var preflight = await http.SendAsync(Preflight("/api/hello"));
        Assert.Equal(HttpStatusCode.OK, preflight.StatusCode);
        Assert.Equal("upstream preflight", await preflight.Content.ReadAsStringAsync());
        Assert.Equal(UpstreamOrigin, preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/hello") { Headers = { { "Origin", Origin } } };
        using var response = await http.SendAsync(get);
        Assert.Equal("hello", await response.Content.ReadAsStringAsync());
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public void StarWithCredentials_AndUnknownPolicies_AreReportedByKey()
    {
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => EdgeApp.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Edge:Publish:ApiKeys:0"] = "k",
            ["Edge:Cors:Policies:open:Origins:0"] = "*",
            ["Edge:Cors:Policies:open:AllowCredentials"] = "true",
            ["Edge:Cors:Policies:path:Origins:0"] = "https://app.example.com/page",
            ["Edge:Streams:s:Path"] = "/s",
            ["Edge:Streams:s:CorsPolicy"] = "nope",
        })));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Cors:Policies:open:Origins:0", StringComparison.Ordinal) && f.Contains("AllowCredentials", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Cors:Policies:path:Origins:0", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Streams:s:CorsPolicy", StringComparison.Ordinal));
    }
}
