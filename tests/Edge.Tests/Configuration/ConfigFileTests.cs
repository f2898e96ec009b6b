using System.Diagnostics;
using System.Net;
using Edge.Hosting;
using Edge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit;

namespace Edge.Tests.Configuration;

/// <summary>Every ready configuration in <c>config/</c> starts and serves its system's clients unchanged.</summary>
public sealed class ConfigFileTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    public static string ConfigDirectory { get; } = FindConfigDirectory();

    public static TheoryData<string> ConfigFiles() => new(Directory.GetFiles(ConfigDirectory, "*.json").Select(Path.GetFileName).Order()!);

    private static string FindConfigDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "config", "edge.json");
            if (File.Exists(candidate))
            {
                return Path.GetDirectoryName(candidate)!;
            }
        }

        throw new InvalidOperationException("config/edge.json not found above " + AppContext.BaseDirectory);
    }

    private static Task<EdgeTestHost> StartAsync(string file, params (string Key, string? Value)[] overrides) =>
        EdgeTestHost.StartAsync(overrides.ToDictionary(o => o.Key, o => o.Value), configFile: Path.Combine(ConfigDirectory, file));

    private static async Task PublishAsync(EdgeTestHost edge, string key, string json)
    {
        using var response = await edge.PublishAsync(json, key);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(ConfigFiles))]
    public async Task ConfigFile_IsValid(string file)
    {
        var settings = new Dictionary<string, string?> { ["Edge:Urls"] = "http://127.0.0.1:0" };
        using var certificates = Tls.TlsConfigFiles.WithTestCertificates(Path.Combine(ConfigDirectory, file), settings);
        var app = EdgeApp.Build(["--config", Path.Combine(ConfigDirectory, file)], c => c.AddInMemoryCollection(settings));
        await app.DisposeAsync();
    }

    [Fact]
    public async Task Default_AnonymousEventsStream_WithChannelsAndUserId()
    {
        await using var edge = await StartAsync("edge.json");
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders&userId=12345");
        Assert.Equal(["ok"], (await client.ReadFrameAsync(Wait)).Comments);

        await PublishAsync(edge, "dev-publish-key", """[{"channel":"orders","event":"notification","data":{"message":"Order #12345 shipped"}},{"userId":"12345","data":"just you"}]""");

        var events = await client.ReadEventsAsync(2, Wait);
        Assert.Equal(("notification", """{"message":"Order #12345 shipped"}"""), (events[0].Event, events[0].Data));
        Assert.Equal("just you", events[1].Data);
    }

    [Fact]
    public async Task Notify_HelloOk_KeepaliveComments_AndAdminDebugEventsOnlyForAdmins()
    {
        // The app's session check, as the notify configuration forwards to it (cookies of the page).
        await using var app = await UpstreamTestServer.StartAsync(routes => routes.MapGet("/api/auth/session", (HttpContext context) =>
        {
            if (context.Request.Cookies["session"] is not "admin-session")
            {
                return Results.StatusCode(401);
            }

            context.Response.Headers["X-User-Id"] = "admin-1";
            context.Response.Headers["X-User-Roles"] = "admin";
            return Results.Ok();
        }));
        await using var edge = await StartAsync(
            "notify.json",
            ("Edge:Streams:notify:Heartbeat:Interval", "00:00:00.200"),
            ("Edge:Streams:notify:Auth:Forward:Url", new Uri(app.Address, "/api/auth/session").ToString()));
        await using var admin = await SseTestClient.ConnectAsync(edge.BaseAddress, "/notify/events", headers: new Dictionary<string, string> { ["Cookie"] = "session=admin-session" });
        await using var visitor = await SseTestClient.ConnectAsync(edge.BaseAddress, "/notify/events");

        Assert.StartsWith(":ok\n\n", await WaitForRawAsync(admin, ":ok\n\n"), StringComparison.Ordinal);
        await WaitForRawAsync(admin, ":keepalive\n\n");
        await WaitForRawAsync(visitor, ":keepalive\n\n");
        await PublishAsync(edge, "change-me-notify-publish-key", """[{"channel":"notify.i18n_debug","event":"i18n_debug","data":{"key":"home.title","lang":"de"}},{"channel":"notify","event":"job","data":{"status":"done"}}]""");
        var received = await admin.ReadEventsAsync(2, Wait);
        Assert.Equal(("i18n_debug", """{"key":"home.title","lang":"de"}"""), (received[0].Event, received[0].Data));
        Assert.Equal("job", received[1].Event);
        Assert.Equal("job", (await visitor.ReadEventAsync(Wait)).Event);
    }

    [Fact]
    public async Task ReactNotifications_QueryParameters_HeartbeatEvents_AndResume()
    {
        await using var edge = await StartAsync("react-notifications.json", ("Edge:Streams:notifications:Heartbeat:Interval", "00:00:00.300"));
        var token = ReactToken("12345", ["orders", "alerts"]);
        var path = "/api/notifications/stream?token=" + token + "&userId=12345&channels=orders,alerts";
        var client = await SseTestClient.ConnectAsync(edge.BaseAddress, path);
        const string key = "change-me-notifications-publish-key";

        await PublishAsync(edge, key, """
            [{"userId":"12345","event":"notification","data":{"type":"notification","notificationType":"success","message":"Your order #12345 has been shipped"}},
             {"channel":"orders","event":"update","data":{"type":"update","entity":"order","action":"updated","payload":{"orderId":12345}}},
             {"userId":"999","event":"notification","data":{"message":"not for you"}}]
            """);
        var events = await client.ReadEventsAsync(2, Wait);
        Assert.Equal(["notification", "update"], events.Select(e => e.Event));
        var heartbeat = await client.ReadEventAsync(Wait);
        Assert.Equal(("heartbeat", "{}"), (heartbeat.Event, heartbeat.Data));
        var lastId = client.LastEventId;
        await client.DisposeAsync();

        await PublishAsync(edge, key, """{"channel":"alerts","event":"notification","data":{"message":"missed"}}""");
        await using var resumed = await SseTestClient.ConnectAsync(edge.BaseAddress, path + "&lastEventId=" + lastId);
        Assert.Equal("""{"message":"missed"}""", (await resumed.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task ReactNotifications_BearerToken_Admits_BadTokenGetsTheSeedsErrorEvent_OtherChannelsAre403Events()
    {
        await using var edge = await StartAsync("react-notifications.json");
        await using var bearer = await SseTestClient.ConnectAsync(edge.BaseAddress, "/api/notifications/stream?channels=orders", headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + ReactToken("12345", ["orders"]) });
        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        Assert.Equal(["ok"], (await bearer.ReadFrameAsync(Wait)).Comments);

        await using var bad = await SseTestClient.ConnectAsync(edge.BaseAddress, "/api/notifications/stream?token=abc123");
        Assert.Equal(HttpStatusCode.OK, bad.StatusCode);
        await bad.WaitForEndAsync(Wait);
        Assert.Equal("event: error\ndata: {\"error\":\"Unauthorized\",\"code\":401}\n\n", bad.RawText);

        await using var escalation = await SseTestClient.ConnectAsync(edge.BaseAddress, "/api/notifications/stream?channels=admin&token=" + ReactToken("12345", ["orders"]));
        await escalation.WaitForEndAsync(Wait);
        Assert.Equal("event: error\ndata: {\"error\":\"Forbidden\",\"code\":403}\n\n", escalation.RawText);
    }

    /// <summary>A token as the React app's backend would issue it for the ready configuration.</summary>
    private static string ReactToken(string userId, string[] channels)
    {
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler();
        return handler.CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Audience = "react-notifications",
            Claims = new Dictionary<string, object> { ["sub"] = userId, ["channels"] = channels },
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes("change-me-react-notifications-jwt-secret-0123456789")),
                Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
        });
    }

    [Fact]
    public async Task SessionStream_ByQueryAndByHeader_OnlyThatSession()
    {
        await using var edge = await StartAsync("session-sse.json");
        await using var byQuery = await SseTestClient.ConnectAsync(edge.BaseAddress, "/api/v1/sse/subscribe?sessionId=sess-1");
        await using var byHeader = await SseTestClient.ConnectAsync(edge.BaseAddress, "/api/v1/sse/subscribe", headers: new Dictionary<string, string> { ["X-Session-Id"] = "sess-2" });

        await PublishAsync(edge, "change-me-session-publish-key", """
            [{"sessionId":"sess-1","event":"syncProgress","data":"75"},
             {"sessionId":"sess-2","event":"documentLocked","data":{"stable_id":"doc-9","locked_by":"ann"}}]
            """);

        var progress = await byQuery.ReadEventAsync(Wait);
        Assert.Equal(("syncProgress", "75"), (progress.Event, progress.Data));
        var locked = await byHeader.ReadEventAsync(Wait);
        Assert.Equal(("documentLocked", """{"stable_id":"doc-9","locked_by":"ann"}"""), (locked.Event, locked.Data));
        Assert.True(await byQuery.NoEventWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Htmx_EventsChatAndProgressStreams()
    {
        await using var edge = await StartAsync("htmx.json", ("Edge:Streams:chat:Heartbeat:Interval", "00:00:00.200"));
        await using var events = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        await using var chat = await SseTestClient.ConnectAsync(edge.BaseAddress, "/chat/lobby/events");
        await using var progress = await SseTestClient.ConnectAsync(edge.BaseAddress, "/tasks/7/progress");
        const string key = "change-me-htmx-publish-key";

        await PublishAsync(edge, key, """
            [{"channel":"events","data":"<p>Hello!</p>"},
             {"channel":"events","event":"notification","data":"New message!"},
             {"channel":"chat.lobby","data":"<div class=\"msg\">\n  hi\n</div>"},
             {"channel":"tasks.7","event":"percent","data":"40%"},
             {"channel":"tasks.7","event":"bar","data":"<div id=\"progress-bar\" style=\"width: 40%\"></div>"}]
            """);

        var fromEvents = await events.ReadEventsAsync(2, Wait);
        Assert.Equal([("message", "<p>Hello!</p>"), ("notification", "New message!")], fromEvents.Select(e => (e.Type, e.Data)));
        Assert.Equal("<div class=\"msg\">\n  hi\n</div>", (await chat.ReadEventAsync(Wait)).Data);
        Assert.Equal(["percent", "bar"], (await progress.ReadEventsAsync(2, Wait)).Select(e => e.Event));
        await WaitForRawAsync(chat, ": keepalive\n\n");
    }

    [Fact]
    public void InvalidConfiguration_StopsStartUp_NamingTheKey()
    {
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => EdgeApp.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Edge:Broker:Type"] = "Nats",
            ["Edge:Publish:ApiKeys:0"] = "k",
        })));

        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Broker:Type", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InvalidConfiguration_TheProcessExitsWithAMessageNamingTheKey()
    {
        var file = Path.Combine(Path.GetTempPath(), $"edge-bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{"Edge":{"Publish":{"ApiKeys":["k"]},"Streams":{"a":{"Path":"/x","Heartbeat":{"Interval":"-00:00:01"}},"b":{"Path":"/x"}}}}""");
        try
        {
            var start = new ProcessStartInfo("dotnet", ["exec", Path.Combine(AppContext.BaseDirectory, "Edge.dll"), "--config", file, "--Edge:Urls=http://127.0.0.1:0"])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

            Assert.Equal(2, process.ExitCode);
            var text = await stderr;
            Assert.Contains("Edge:Streams:a:Heartbeat:Interval", text, StringComparison.Ordinal);
            Assert.Contains("collides", text, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<string> WaitForRawAsync(SseTestClient client, string text)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!client.RawText.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"'{text}' did not arrive; got:\n{client.RawText}");
            await Task.Delay(20);
        }

        return client.RawText;
    }
}
