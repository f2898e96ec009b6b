using System.Net;
using Edge.Testing;
using Edge.Tests.Functional;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using static Edge.Tests.Auth.AuthAssert;

namespace Edge.Tests.Auth;

/// <summary>Forward mode against a real auth upstream on loopback.</summary>
[Trait("Category", "Identity")]
public sealed class ForwardAuthTests : IAsyncLifetime
{
    private UpstreamTestServer _auth = null!;
    private int _calls;

    public async Task InitializeAsync()
    {
        _auth = await UpstreamTestServer.StartAsync(app =>
        {
            app.MapGet("/auth", (HttpContext context) =>
            {
                Interlocked.Increment(ref _calls);
                var cookie = context.Request.Cookies["session"];
                var bearer = context.Request.Headers.Authorization.ToString();
                if (cookie == "good" || bearer == "Bearer good")
                {
                    context.Response.Headers["X-User-Id"] = "alice";
                    context.Response.Headers["X-Session-Id"] = "s-1";
                    context.Response.Headers["X-Allowed-Channels"] = "orders, chat.*";
                    context.Response.Headers["X-User-Roles"] = cookie == "good" ? "admin" : "user";
                    context.Response.Headers["X-Seen-Uri"] = context.Request.Headers["X-Original-URI"].ToString();
                    return Results.Ok();
                }

                if (cookie == "banned")
                {
                    return Results.StatusCode(403);
                }

                if (cookie == "broken")
                {
                    return Results.StatusCode(500);
                }

                return Results.StatusCode(401);
            });
            app.MapGet("/slow", async (HttpContext context) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted);
                return Results.Ok();
            });
        });
    }

    public async Task DisposeAsync() => await _auth.DisposeAsync();

    private Task<EdgeTestHost> StartAsync(string path = "/auth", params (string Key, string? Value)[] more) =>
        EdgeTestHost.StartAsync(TestSettings.Default(
        [
            ("Edge:Streams:events:Auth:Mode", "Forward"),
            ("Edge:Streams:events:Auth:Forward:Url", new Uri(_auth.Address, path).ToString()),
            ("Edge:Streams:events:Auth:ChannelRoles:ops.*:0", "admin"),
            .. more,
        ]));

    private static Dictionary<string, string> Cookie(string value) => new() { ["Cookie"] = "session=" + value };

    [Fact]
    public async Task TwoHundred_Admits_WithIdentityChannelsAndRolesFromHeaders()
    {
        await using var edge = await StartAsync();
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders,chat.lobby,ops.log&sessionId=s-1", headers: Cookie("good"));
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        await client.ReadFrameAsync(Wait);

        using var _ = await edge.PublishAsync("""[{"userId":"alice","data":"user"},{"sessionId":"s-1","data":"session"},{"channel":"ops.log","data":"ops"}]""");
        Assert.Equal(["user", "session", "ops"], (await client.ReadEventsAsync(3, Wait)).Select(e => e.Data));
    }

    [Fact]
    public async Task ChannelNotInTheHeader_Is403_RoleMissing_Is403()
    {
        await using var edge = await StartAsync();
        Assert.Contains("'alerts'", await RefusedAsync(edge, "/events?channels=alerts", HttpStatusCode.Forbidden, Cookie("good")), StringComparison.Ordinal);
        Assert.Contains("ops.x", await RefusedAsync(edge, "/events?channels=ops.x", HttpStatusCode.Forbidden, new Dictionary<string, string> { ["Authorization"] = "Bearer good" }), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamRefusals_PassThrough()
    {
        await using var edge = await StartAsync();
        await RefusedAsync(edge, "/events", HttpStatusCode.Unauthorized, Cookie("nobody"));
        await RefusedAsync(edge, "/events", HttpStatusCode.Unauthorized);
        await RefusedAsync(edge, "/events", HttpStatusCode.Forbidden, Cookie("banned"));
    }

    [Fact]
    public async Task UpstreamFailure_Is503_NeverAdmission()
    {
        await using var edge = await StartAsync();
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: Cookie("broken"));
        await ProblemAsync(client.Response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(client.Response.Headers.RetryAfter);
    }

    [Fact]
    public async Task UpstreamTimeout_Is503()
    {
        await using var edge = await StartAsync("/slow", ("Edge:Streams:events:Auth:Forward:Timeout", "00:00:00.300"));
        await RefusedAsync(edge, "/events", HttpStatusCode.ServiceUnavailable, Cookie("good"));
    }

    [Fact]
    public async Task UpstreamDown_Is503()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Streams:events:Auth:Mode", "Forward"),
            ("Edge:Streams:events:Auth:Forward:Url", "http://127.0.0.1:1/auth")));
        await RefusedAsync(edge, "/events", HttpStatusCode.ServiceUnavailable, Cookie("good"));
    }

    [Fact]
    public async Task Answers_AreCachedPerCredentials_ForTheConfiguredTime()
    {
        await using var edge = await StartAsync(more: ("Edge:Streams:events:Auth:Forward:CacheDuration", "00:00:30"));
        for (var i = 0; i < 3; i++)
        {
            await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: Cookie("good"));
            Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        }

        Assert.Equal(1, Volatile.Read(ref _calls));
        await RefusedAsync(edge, "/events", HttpStatusCode.Unauthorized, Cookie("other"));
        await RefusedAsync(edge, "/events", HttpStatusCode.Unauthorized, Cookie("other"));
        Assert.Equal(2, Volatile.Read(ref _calls));
    }

    [Fact]
    public async Task CacheDisabled_AsksEveryTime()
    {
        await using var edge = await StartAsync(more: ("Edge:Streams:events:Auth:Forward:CacheDuration", "00:00:00"));
        for (var i = 0; i < 2; i++)
        {
            await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: Cookie("good"));
            Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        }

        Assert.Equal(2, Volatile.Read(ref _calls));
    }

    [Fact]
    public async Task SessionNotVouchedByUpstream_Is403()
    {
        await using var edge = await StartAsync();
        await RefusedAsync(edge, "/events?sessionId=s-9", HttpStatusCode.Forbidden, Cookie("good"));
    }

    [Fact]
    public async Task AllowAnonymous_NoCredentialsOr401_AdmitsAsVisitor()
    {
        await using var edge = await StartAsync(more: ("Edge:Streams:events:Auth:AllowAnonymous", "true"));
        await using var visitor = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        Assert.Equal(HttpStatusCode.OK, visitor.StatusCode);
        await using var stale = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: Cookie("expired"));
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        await RefusedAsync(edge, "/events?userId=alice", HttpStatusCode.Forbidden);
        await RefusedAsync(edge, "/events", HttpStatusCode.Forbidden, Cookie("banned"));
    }
}
