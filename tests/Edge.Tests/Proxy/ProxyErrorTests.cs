using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Edge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Edge.Tests.Proxy;

/// <summary>When the upstream does not answer: a page for browsers asking for HTML, a precise problem+json for everyone else.</summary>
public sealed class ProxyErrorTests
{
    private static Dictionary<string, string?> ProxyTo(string address, params (string Key, string? Value)[] more)
    {
        var settings = TestSettings.Default(more);
        settings["ReverseProxy:Routes:app:ClusterId"] = "app";
        settings["ReverseProxy:Routes:app:Match:Path"] = "{**catch-all}";
        settings["ReverseProxy:Clusters:app:Destinations:app1:Address"] = address;
        return settings;
    }

    /// <summary>A loopback address nothing listens on (bound, then released).</summary>
    private static string NothingListening()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
    }

    private static async Task<HttpResponseMessage> GetAsync(EdgeTestHost edge, string path, string? accept)
    {
        using var http = edge.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        return await http.SendAsync(request);
    }

    [Fact]
    public async Task UpstreamDown_ApiClient_GetsProblemJson502_NamingRouteClusterAndError()
    {
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(NothingListening()));

        using var response = await GetAsync(edge, "/api/orders", "application/json");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(502, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("Bad Gateway", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal("The upstream of route 'app' (cluster 'app') did not answer: the connection to it failed or was refused (is it running?) (YARP ForwarderError.Request).", problem.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task UpstreamDown_BrowserWithTheDemoOn_GetsAPageSayingWhatTheEdgeIsWhereTheDemoIsAndWhatToConfigure()
    {
        var address = NothingListening();
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(address, ("Edge:Demo:Enabled", "true")));

        using var response = await GetAsync(edge, "/dashboard", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        using var api = await GetAsync(edge, "/dashboard", null);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("The edge is running; the application behind it is not", html, StringComparison.Ordinal);
        Assert.Contains($"<code>{address}</code>", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"/\">/</a>", html, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Clusters:app:Destinations", html, StringComparison.Ordinal);
        Assert.Contains("<code>/events</code>", html, StringComparison.Ordinal);
        Assert.Equal("application/problem+json", api.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"at {address}", await api.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamDown_BrowserWithTheDemoOff_GetsAShortPage_WithNothingAboutTheInside()
    {
        var address = NothingListening();
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(address));

        using var response = await GetAsync(edge, "/", "text/html");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<h1>502 Bad Gateway</h1>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(address, html, StringComparison.Ordinal);
        Assert.DoesNotContain("ReverseProxy", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamAnswering502Itself_PassesThroughUnchanged()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/flaky", () => Results.Text("the app's own 502", statusCode: 502)));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address.ToString(), ("Edge:Demo:Enabled", "true")));

        using var response = await GetAsync(edge, "/flaky", "text/html");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("the app's own 502", await response.Content.ReadAsStringAsync());
    }
}
