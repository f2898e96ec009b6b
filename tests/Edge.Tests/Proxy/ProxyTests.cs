using System.Net;
using System.Text.Json;
using Edge.Tests.Functional;
using Edge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Xunit;

namespace Edge.Tests.Proxy;

public sealed class ProxyTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static Dictionary<string, string?> ProxyTo(UpstreamTestServer upstream, params (string Key, string? Value)[] more)
    {
        var settings = TestSettings.Default(more);
        settings["ReverseProxy:Routes:app:ClusterId"] = "app";
        settings["ReverseProxy:Routes:app:Match:Path"] = "{**catch-all}";
        settings["ReverseProxy:Clusters:app:Destinations:d1:Address"] = upstream.Address.ToString();
        return settings;
    }

    [Fact]
    public async Task OrdinaryRequest_IsProxied_WithForwardedHeaders()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/api/orders/{id}", (HttpContext c, string id) => Results.Json(new
        {
            id,
            forwardedFor = c.Request.Headers["X-Forwarded-For"].ToString(),
            forwardedProto = c.Request.Headers["X-Forwarded-Proto"].ToString(),
            forwardedHost = c.Request.Headers["X-Forwarded-Host"].ToString(),
        })));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream));
        using var http = edge.CreateClient();

        using var json = JsonDocument.Parse(await http.GetStringAsync("/api/orders/42"));
        Assert.Equal("42", json.RootElement.GetProperty("id").GetString());
        Assert.Equal("127.0.0.1", json.RootElement.GetProperty("forwardedFor").GetString());
        Assert.Equal("http", json.RootElement.GetProperty("forwardedProto").GetString());
        Assert.Equal(edge.BaseAddress.Authority, json.RootElement.GetProperty("forwardedHost").GetString());
    }

    [Fact]
    public async Task ARouteWithAnAuthorizationPolicy_IsNeverProxiedAnonymously()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/admin/secret", () => "secret"));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream, ("ReverseProxy:Routes:app:AuthorizationPolicy", "default")));
        using var http = edge.CreateClient();

        using var response = await http.GetAsync("/admin/secret");
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("secret", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamSse_PassesThroughEventByEvent()
    {
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/legacy/stream", async (HttpContext c) =>
        {
            c.Response.ContentType = "text/event-stream";
            await c.Response.WriteAsync("event: progress\ndata: 1\n\n");
            await c.Response.Body.FlushAsync();
            await firstSeen.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await c.Response.WriteAsync("event: progress\ndata: 2\n\n");
        }));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/legacy/stream");

        var first = await client.ReadEventAsync(Wait);
        Assert.Equal("1", first.Data);
        firstSeen.SetResult();
        Assert.Equal("2", (await client.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task QuietUpstreamStream_IsCutByTheEdgeDefaultActivityTimeout_WhenShort()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/quiet", QuietStream));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream, ("Edge:Proxy:ActivityTimeout", "00:00:01")));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/quiet");

        Assert.Equal("start", (await client.ReadEventAsync(Wait)).Data);
        await Assert.ThrowsAsync<EndOfStreamException>(() => client.ReadEventAsync(Wait));
    }

    [Fact]
    public async Task QuietUpstreamStream_SurvivesWithTheClusterOwnActivityTimeout()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/quiet", QuietStream));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(
            upstream,
            ("Edge:Proxy:ActivityTimeout", "00:00:01"),
            ("ReverseProxy:Clusters:app:HttpRequest:ActivityTimeout", "00:00:10")));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/quiet");

        Assert.Equal("start", (await client.ReadEventAsync(Wait)).Data);
        Assert.Equal("after silence", (await client.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task StreamPath_WinsOverAProxyRouteWithTheSamePath()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/events", () => "from upstream"));
        var settings = ProxyTo(upstream);
        settings["ReverseProxy:Routes:events:ClusterId"] = "app";
        settings["ReverseProxy:Routes:events:Match:Path"] = "/events";
        await using var edge = await EdgeTestHost.StartAsync(settings);
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");

        Assert.Equal("text/event-stream", client.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["ok"], (await client.ReadFrameAsync(Wait)).Comments);
    }

    [Fact]
    public async Task Compression_AppliesToProxiedResponses_NeverToStreams()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/api/big", () => Results.Json(Enumerable.Range(0, 500).Select(i => new { i, text = "some repeated text" }))));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream, ("Edge:ResponseCompression:Enabled", "true")));
        using var http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = edge.BaseAddress };

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/big");
        request.Headers.AcceptEncoding.ParseAdd("gzip, br");
        using var proxied = await http.SendAsync(request);
        Assert.NotEmpty(proxied.Content.Headers.ContentEncoding);

        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c", headers: new Dictionary<string, string> { ["Accept-Encoding"] = "gzip, br" });
        Assert.Empty(client.Response.Content.Headers.ContentEncoding);
        Assert.Equal(["ok"], (await client.ReadFrameAsync(Wait)).Comments);
        using var _ = await edge.PublishAsync("""{"channel":"c","data":"plain"}""");
        Assert.Equal("plain", (await client.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task ReverseProxySection_ReloadsWhenTheFileChanges()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app =>
        {
            app.MapGet("/v1/hello", () => "v1");
            app.MapGet("/v2/hello", () => "v2");
        });
        var directory = Directory.CreateTempSubdirectory("edge-reload-");
        var file = Path.Combine(directory.FullName, "edge.json");
        await File.WriteAllTextAsync(file, RouteConfig(upstream, "/hello", "/v1/hello"));
        try
        {
            await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(), configFile: file);
            using var http = edge.CreateClient();
            Assert.Equal("v1", await http.GetStringAsync("/hello"));

            await File.WriteAllTextAsync(file, RouteConfig(upstream, "/hello", "/v2/hello"));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            string body;
            do
            {
                await Task.Delay(100);
                body = await http.GetStringAsync("/hello");
            }
            while (body != "v2" && DateTime.UtcNow < deadline);

            Assert.Equal("v2", body);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static string RouteConfig(UpstreamTestServer upstream, string path, string upstreamPath) => $$"""
        {
          "ReverseProxy": {
            "Routes": { "hello": { "ClusterId": "app", "Match": { "Path": "{{path}}" }, "Transforms": [ { "PathSet": "{{upstreamPath}}" } ] } },
            "Clusters": { "app": { "Destinations": { "d1": { "Address": "{{upstream.Address}}" } } } }
          }
        }
        """;

    private static async Task QuietStream(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        await context.Response.WriteAsync("data: start\n\n");
        await context.Response.Body.FlushAsync();
        await Task.Delay(TimeSpan.FromSeconds(2.5), context.RequestAborted);
        await context.Response.WriteAsync("data: after silence\n\n");
    }
}
