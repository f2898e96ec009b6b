using System.Net;
using System.Text.Json;
using Edge.Hosting;
using Edge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit;

namespace Edge.Tests.Demo;

/// <summary><c>Edge:Demo</c>: the page, its assets and settings, and its keyless publishing limited to the demo channels.</summary>
public sealed class DemoTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static Dictionary<string, string?> DemoOn(params (string Key, string? Value)[] more) =>
        TestSettings.Default([("Edge:Demo:Enabled", "true"), .. more]);

    [Fact]
    public async Task DemoOn_ServesThePage_TheVendoredScripts_AndTheSettings()
    {
        await using var edge = await EdgeTestHost.StartAsync(DemoOn());
        using var http = edge.CreateClient();

        using var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<title>Edge demo: live events</title>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("unpkg", html, StringComparison.Ordinal);
        foreach (var script in new[] { "/_edge/demo/vendor/htmx.min.js", "/_edge/demo/vendor/sse.js", "/_edge/demo/demo.js" })
        {
            Assert.Contains($"src=\"{script}\"", html, StringComparison.Ordinal);
            using var asset = await http.GetAsync(script);
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Equal("text/javascript", asset.Content.Headers.ContentType?.MediaType);
        }

        Assert.Contains("htmx", await http.GetStringAsync("/_edge/demo/vendor/htmx.min.js"), StringComparison.Ordinal);
        using var settings = JsonDocument.Parse(await http.GetStringAsync("/_edge/demo/settings"));
        Assert.Equal("/events", settings.RootElement.GetProperty("stream").GetString());
        Assert.Equal("chat.lobby", settings.RootElement.GetProperty("chatChannel").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/_edge/demo/no-such-file.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/_edge/demo/%2e%2e/%2e%2e/Edge.dll")).StatusCode);
    }

    [Fact]
    public async Task DemoPublish_NeedsNoKey_ButOnlyForTheDemoChannels_AndAnArrayWithAnotherChannelPublishesNothing()
    {
        await using var edge = await EdgeTestHost.StartAsync(DemoOn());
        await using var orders = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders,payments");
        using var http = edge.CreateClient();

        using var refused = await http.PostAsync("/_edge/demo/publish", Json("""[{"channel":"orders","data":"first"},{"channel":"payments","data":"not a demo channel"}]"""));
        using var accepted = await http.PostAsync("/_edge/demo/publish", Json("""{"channel":"orders","event":"notification","data":{"message":"Order #1 shipped"}}"""));
        using var apiWithoutKey = await http.PostAsync("/_edge/publish", Json("""{"channel":"payments","data":"x"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Contains("not a demo channel", problem.RootElement.GetProperty("errors").GetProperty("[1].channel")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, apiWithoutKey.StatusCode);
        var received = await orders.ReadEventAsync(Wait);
        Assert.Equal(("notification", """{"message":"Order #1 shipped"}"""), (received.Event, received.Data));
        Assert.True(await orders.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)), "the refused array published nothing");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.GetAsync("/_edge/demo/publish")).StatusCode);
    }

    [Fact]
    public async Task DemoChat_TheFormBecomesOneEscapedHtmlFragment_OnTheChatChannel()
    {
        await using var edge = await EdgeTestHost.StartAsync(DemoOn());
        await using var chat = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=chat.lobby");
        using var http = edge.CreateClient();

        using var sent = await http.PostAsync("/_edge/demo/chat", new FormUrlEncodedContent([new("name", "<b>ann"), new("message", "hi <script>alert(1)</script>")]));
        using var empty = await http.PostAsync("/_edge/demo/chat", new FormUrlEncodedContent([new("name", "ann"), new("message", " ")]));
        using var json = await http.PostAsync("/_edge/demo/chat", Json("""{"message":"hi"}"""));

        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
        var line = await chat.ReadEventAsync(Wait);
        Assert.Null(line.Event);
        Assert.Equal("""<div class="chat-line"><b>&lt;b&gt;ann</b> hi &lt;script&gt;alert(1)&lt;/script&gt;</div>""", line.Data);
    }

    [Fact]
    public async Task DemoOff_TheRootAndTheDemoPathsGoToTheApplication()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app =>
        {
            app.MapGet("/", () => "the application's home");
            app.MapGet("/_edge/demo/settings", () => "the application's own path");
        });
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("ReverseProxy:Routes:app:ClusterId", "app"),
            ("ReverseProxy:Routes:app:Match:Path", "{**catch-all}"),
            ("ReverseProxy:Clusters:app:Destinations:d1:Address", upstream.Address.ToString())));
        using var http = edge.CreateClient();

        Assert.Equal("the application's home", await http.GetStringAsync("/"));
        Assert.Equal("the application's own path", await http.GetStringAsync("/_edge/demo/settings"));
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/_edge/demo/publish", Json("""{"channel":"orders"}"""))).StatusCode);
    }

    [Fact]
    public void InvalidDemoConfiguration_StopsStartUp_NamingEachKey()
    {
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => EdgeApp.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Edge:Publish:ApiKeys:0"] = "k",
            ["Edge:Streams:fixed:Path"] = "/fixed",
            ["Edge:Streams:fixed:ChannelsQuery"] = "",
            ["Edge:Demo:Enabled"] = "true",
            ["Edge:Demo:Folder"] = "/no/such/folder",
            ["Edge:Demo:Stream"] = "fixed",
            ["Edge:Demo:Channels:0"] = "user:someone",
            ["Edge:Demo:ChatChannel"] = "chat.elsewhere",
        })).Services.GetService(typeof(IOptions<Edge.Configuration.EdgeOptions>)) is IOptions<Edge.Configuration.EdgeOptions> options ? options.Value : null);

        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Demo:Folder: '/no/such/folder' holds no index.html", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Demo:Stream 'fixed' must take its channels from the query", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Demo:Channels:0 'user:someone' is a personal channel", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Demo:ChatChannel 'chat.elsewhere' must be one of", StringComparison.Ordinal));
    }

    [Fact]
    public void TheDemo_IsOnInTheDefaultConfiguration_AndOffInEveryOther()
    {
        var directory = Configuration.ConfigFileTests.ConfigDirectory;
        foreach (var file in Directory.GetFiles(directory, "*.json"))
        {
            var configuration = new ConfigurationBuilder().AddJsonFile(file).Build();
            var enabled = configuration.GetValue<bool>("Edge:Demo:Enabled");
            Assert.True(enabled == (Path.GetFileName(file) == "edge.json"), $"{Path.GetFileName(file)}: Edge:Demo:Enabled is {enabled}");
        }
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
