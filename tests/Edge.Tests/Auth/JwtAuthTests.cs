using System.Net;
using Edge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Edge.Tests.Functional;
using Xunit;
using static Edge.Tests.Auth.AuthAssert;

namespace Edge.Tests.Auth;

[Trait("Category", "Identity")]
public sealed class JwtAuthTests
{
    private static Task<EdgeTestHost> StartAsync(params (string Key, string? Value)[] more) =>
        EdgeTestHost.StartAsync(TestSettings.Default(TestTokens.JwtStream(more: more)));

    [Fact]
    public async Task BearerHeader_Admits_UserFromSub()
    {
        await using var edge = await StartAsync();
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(sub: "alice")));
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        await client.ReadFrameAsync(Wait);

        using var _ = await edge.PublishAsync("""[{"userId":"bob","data":"not yours"},{"userId":"alice","data":"yours"}]""");
        Assert.Equal("yours", (await client.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task TokenQueryParameter_Admits()
    {
        await using var edge = await StartAsync();
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?token=" + TestTokens.Create(sub: "alice", channels: new[] { "orders" }) + "&channels=orders");
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        await client.ReadFrameAsync(Wait);
        await StillServesAsync(edge, client);
    }

    [Fact]
    public async Task Cookie_Admits_WhenConfigured()
    {
        await using var edge = await StartAsync(("Edge:Streams:events:Auth:Jwt:Cookie", "edge_token"));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: new Dictionary<string, string> { ["Cookie"] = "other=1; edge_token=" + TestTokens.Create(sub: "carol") });
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        await client.ReadFrameAsync(Wait);
        using var _ = await edge.PublishAsync("""{"userId":"carol","data":"hi"}""");
        Assert.Equal("hi", (await client.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task Base64Secret_Admits()
    {
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(48);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Streams:events:Auth:Mode", "Jwt"),
            ("Edge:Streams:events:Auth:Jwt:Secrets:0", "base64:" + Convert.ToBase64String(bytes))));
        var token = TestTokens.Create(sub: "alice", key: new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(bytes));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(token));
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
    }

    [Fact]
    public async Task MissingToken_Is401_WithChallenge()
    {
        await using var edge = await StartAsync();
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        await ProblemAsync(client.Response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", client.Response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Rs256_FromJwksFile_Admits_UnknownKeyRefused()
    {
        var rsa = TestTokens.NewRsaKey("rsa-1");
        var stranger = TestTokens.NewRsaKey("rsa-1");
        var jwks = TestTokens.WriteJwks(rsa);
        try
        {
            await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
                ("Edge:Streams:events:Auth:Mode", "Jwt"),
                ("Edge:Streams:events:Auth:Jwt:JwksFile", jwks),
                ("Edge:Streams:events:Auth:Jwt:Audiences:0", TestTokens.Audience)));
            await using var ok = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(key: rsa)));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            await RefusedAsync(edge, "/events", HttpStatusCode.Unauthorized, TestTokens.Bearer(TestTokens.Create(key: stranger)));
        }
        finally
        {
            File.Delete(jwks);
        }
    }

    [Fact]
    public async Task Es256_FromJwksUrl_Admits_AndRotatedKeyIsFetched()
    {
        var first = TestTokens.NewEcKey("ec-1");
        var second = TestTokens.NewEcKey("ec-2");
        var keys = new List<Microsoft.IdentityModel.Tokens.SecurityKey> { first };
        var fetches = 0;
        await using var jwksServer = await UpstreamTestServer.StartAsync(app => app.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref fetches);
            lock (keys)
            {
                return Microsoft.AspNetCore.Http.Results.Json(new { keys = keys.Select(TestTokens.PublicJwk).ToArray() });
            }
        }));
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Streams:events:Auth:Mode", "Jwt"),
            ("Edge:Streams:events:Auth:Jwt:JwksUrl", new Uri(jwksServer.Address, "/jwks").ToString()),
            ("Edge:Streams:events:Auth:Jwt:Issuers:0", TestTokens.Issuer)));

        await using var one = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(key: first)));
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        await using var again = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(key: first)));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(1, Volatile.Read(ref fetches));

        // A key the edge has never seen, within 30 s of the last fetch: refused, the JWKS is not hammered.
        lock (keys)
        {
            keys.Add(second);
        }

        await RefusedAsync(edge, "/events", HttpStatusCode.Unauthorized, TestTokens.Bearer(TestTokens.Create(key: second)));
        Assert.Equal(1, Volatile.Read(ref fetches));
    }

    [Fact]
    public async Task ChannelsClaim_ExactAndPrefix_Allowed_OthersAre403NamingTheChannel()
    {
        await using var edge = await StartAsync();
        var token = TestTokens.Create(sub: "alice", channels: new[] { "orders", "chat.*" });
        await using var ok = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders,chat.lobby,user:alice&token=" + token);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        var detail = await RefusedAsync(edge, "/events?channels=orders,alerts&token=" + token, HttpStatusCode.Forbidden);
        Assert.Contains("'alerts'", detail, StringComparison.Ordinal);
        detail = await RefusedAsync(edge, "/events?channels=chat&token=" + token, HttpStatusCode.Forbidden);
        Assert.Contains("'chat'", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChannelsClaim_SpaceSeparatedString_IsAccepted()
    {
        await using var edge = await StartAsync();
        var token = TestTokens.Create(sub: "alice", channels: "orders alerts");
        await using var ok = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders,alerts&token=" + token);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task WithoutChannelsClaim_OnlyStreamAndPersonalChannels()
    {
        await using var edge = await StartAsync(("Edge:Streams:events:Channels:0", "news"));
        var token = TestTokens.Create(sub: "alice");
        await using var ok = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=user:alice&token=" + token);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await RefusedAsync(edge, "/events?channels=orders&token=" + token, HttpStatusCode.Forbidden);
        await StillServesAsync(edge, ok, "news");
    }

    [Fact]
    public async Task ChannelRoles_AdminChannel_NeedsTheRole()
    {
        await using var edge = await StartAsync(
            ("Edge:Streams:events:Channels:0", "notify"),
            ("Edge:Streams:events:Channels:1", "notify.i18n_debug"),
            ("Edge:Streams:events:Auth:ChannelRoles:notify.i18n_debug:0", "admin"),
            ("Edge:Streams:events:Auth:ChannelRoles:admin.*:0", "admin"));
        await using var admin = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(sub: "root", roles: new[] { "admin" })));
        await using var user = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(sub: "ann", roles: "editor")));
        await admin.ReadFrameAsync(Wait);
        await user.ReadFrameAsync(Wait);

        using var _ = await edge.PublishAsync("""[{"channel":"notify.i18n_debug","event":"i18n_debug","data":{"key":"home.title"}},{"channel":"notify","data":"everyone"}]""");
        Assert.Equal("i18n_debug", (await admin.ReadEventAsync(Wait)).Event);
        Assert.Equal("everyone", (await user.ReadEventAsync(Wait)).Data);
        Assert.Equal("everyone", (await admin.ReadEventAsync(Wait)).Data);

        var detail = await RefusedAsync(edge, "/events?channels=admin.log", HttpStatusCode.Forbidden, TestTokens.Bearer(TestTokens.Create(sub: "ann", channels: new[] { "admin.*" })));
        Assert.Contains("admin.log", detail, StringComparison.Ordinal);
        Assert.Contains("admin", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SessionId_AcceptedOnlyWhenTheTokenVouches()
    {
        await using var edge = await StartAsync();
        await using var vouched = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?sessionId=s-1", headers: TestTokens.Bearer(TestTokens.Create(sub: "alice", sid: "s-1")));
        Assert.Equal(HttpStatusCode.OK, vouched.StatusCode);
        await vouched.ReadFrameAsync(Wait);

        var detail = await RefusedAsync(edge, "/events?sessionId=s-2", HttpStatusCode.Forbidden, TestTokens.Bearer(TestTokens.Create(sub: "alice", sid: "s-1")));
        Assert.Contains("s-2", detail, StringComparison.Ordinal);
        await RefusedAsync(edge, "/events", HttpStatusCode.Forbidden, new Dictionary<string, string>(TestTokens.Bearer(TestTokens.Create(sub: "alice"))) { ["X-Session-Id"] = "s-1" });

        using var _ = await edge.PublishAsync("""{"sessionId":"s-1","data":"for the session"}""");
        Assert.Equal("for the session", (await vouched.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task UserIdQuery_ThatIsNotTheTokensUser_Is403()
    {
        await using var edge = await StartAsync();
        await RefusedAsync(edge, "/events?userId=bob", HttpStatusCode.Forbidden, TestTokens.Bearer(TestTokens.Create(sub: "alice")));
        await using var same = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=alice", headers: TestTokens.Bearer(TestTokens.Create(sub: "alice")));
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
    }

    [Fact]
    public async Task TokenExpiry_ClosesTheStream_WithAFinalErrorEvent()
    {
        await using var edge = await StartAsync(("Edge:Streams:events:Auth:Jwt:ClockSkew", "00:00:00"));
        await using var other = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(sub: "bob")));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(sub: "alice", expiresIn: TimeSpan.FromSeconds(2))));
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);

        var error = await client.ReadEventAsync(Wait);
        Assert.Equal(("error", """{"error":"Unauthorized","code":401,"reason":"token-expired"}"""), (error.Event, error.Data));
        await client.WaitForEndAsync(Wait);
        Assert.True(client.Ended);

        using var _ = await edge.PublishAsync("""{"userId":"bob","data":"still here"}""");
        Assert.Equal("still here", (await other.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task TokenExpiry_FollowsTheHostsTimeProvider()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var edge = await EdgeTestHost.StartAsync(
            TestSettings.Default(TestTokens.JwtStream()),
            configureServices: services => services.AddSingleton<TimeProvider>(clock));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(sub: "alice", expiresIn: TimeSpan.FromMinutes(30))));
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        await client.ReadFrameAsync(Wait);

        clock.Advance(TimeSpan.FromMinutes(29));
        using (var _ = await edge.PublishAsync("""{"userId":"alice","data":"before expiry"}"""))
        {
            Assert.Equal("before expiry", (await client.ReadEventAsync(Wait)).Data);
        }

        clock.Advance(TimeSpan.FromMinutes(2));
        var error = await client.ReadEventAsync(Wait);
        Assert.Equal(("error", """{"error":"Unauthorized","code":401,"reason":"token-expired"}"""), (error.Event, error.Data));
        await client.WaitForEndAsync(Wait);
        Assert.True(client.Ended);
    }

    [Fact]
    public async Task TokenExpiry_CanBeTurnedOff()
    {
        await using var edge = await StartAsync(("Edge:Streams:events:Auth:Jwt:ClockSkew", "00:00:00"), ("Edge:Streams:events:Auth:CloseAtExpiry", "false"));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create(sub: "alice", expiresIn: TimeSpan.FromSeconds(1))));
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        Assert.True(await client.NoEventWithinAsync(TimeSpan.FromSeconds(2)));
        Assert.False(client.Ended);
    }

    [Fact]
    public async Task SeedStyle_InvalidToken_Is200_WithTheSeedsErrorEvent()
    {
        await using var edge = await StartAsync(("Edge:Streams:events:SeedStyle", "true"));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?token=abc123");
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        Assert.Equal("text/event-stream", client.Response.Content.Headers.ContentType?.MediaType);
        await client.WaitForEndAsync(Wait);
        Assert.Equal("event: error\ndata: {\"error\":\"Unauthorized\",\"code\":401}\n\n", client.RawText);
    }

    [Fact]
    public async Task AllowAnonymous_AdmitsWithoutToken_ButNotOntoRoleChannels()
    {
        await using var edge = await StartAsync(
            ("Edge:Streams:events:Auth:AllowAnonymous", "true"),
            ("Edge:Streams:events:Channels:0", "news"),
            ("Edge:Streams:events:Channels:1", "news.admin"),
            ("Edge:Streams:events:Auth:ChannelRoles:news.admin:0", "admin"));
        await using var visitor = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        Assert.Equal(HttpStatusCode.OK, visitor.StatusCode);
        await visitor.ReadFrameAsync(Wait);
        using var _ = await edge.PublishAsync("""[{"channel":"news.admin","data":"secret"},{"channel":"news","data":"public"}]""");
        Assert.Equal("public", (await visitor.ReadEventAsync(Wait)).Data);
        await RefusedAsync(edge, "/events", HttpStatusCode.Unauthorized, TestTokens.Bearer("not-a-jwt"));
    }
}
