using System.Net;
using System.Net.Sockets;
using System.Text;
using Edge.Diagnostics;
using Edge.Limits;
using Edge.Testing;
using Edge.Tests.Auth;
using Edge.Tests.Functional;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;
using static Edge.Tests.Auth.AuthAssert;

namespace Edge.Tests.Security;

/// <summary>Hostile clients: each is answered with the right status, logged, and everyone else keeps being served.</summary>
[Trait("Category", "Identity")]
public sealed class SecurityTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private EdgeTestHost _edge = null!;
    private SseTestClient _bystander = null!;

    public async Task InitializeAsync()
    {
        _edge = await StartAsync();
        _bystander = await SseTestClient.ConnectAsync(_edge.BaseAddress, "/events?channels=orders", headers: TestTokens.Bearer(TestTokens.Create(sub: "bystander", channels: new[] { "orders" })));
        Assert.Equal(HttpStatusCode.OK, _bystander.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _bystander.DisposeAsync();
        await _edge.DisposeAsync();
    }

    private Task<EdgeTestHost> StartAsync(params (string Key, string? Value)[] more) =>
        EdgeTestHost.StartAsync(
            TestSettings.Default([.. TestTokens.JwtStream(more: [("Edge:Streams:events:Auth:Jwt:ClockSkew", "00:00:05"), ("Logging:LogLevel:Edge", "Debug"), .. more])]),
            configureServices: services => services.AddSingleton<ILoggerProvider>(_logs));

    private async Task AssertRefusedAndLoggedAsync(string token, HttpStatusCode status, string reason)
    {
        await RefusedAsync(_edge, "/events", status, TestTokens.Bearer(token));
        Assert.True(_logs.Has(EdgeEventIds.AuthRefused, reason), "not logged: " + reason + "\n" + _logs.All);
        Assert.DoesNotContain(token, _logs.All, StringComparison.Ordinal);
        await StillServesAsync(_edge, _bystander);
    }

    [Fact]
    public Task ForgedToken_WrongKey_Is401() =>
        AssertRefusedAndLoggedAsync(TestTokens.Create(key: TestTokens.SecretKey("another-secret-that-is-long-enough-for-hs256")), HttpStatusCode.Unauthorized, "invalid-signature");

    [Fact]
    public Task ExpiredToken_Is401() =>
        AssertRefusedAndLoggedAsync(TestTokens.Create(expiresIn: TimeSpan.FromMinutes(-1)), HttpStatusCode.Unauthorized, "token-expired");

    [Fact]
    public Task NotYetValidToken_Is401() =>
        AssertRefusedAndLoggedAsync(TestTokens.Create(notBefore: DateTime.UtcNow.AddMinutes(2), expiresIn: TimeSpan.FromMinutes(10)), HttpStatusCode.Unauthorized, "token-not-yet-valid");

    [Fact]
    public Task AlgNone_Is401() =>
        AssertRefusedAndLoggedAsync(TestTokens.Unsigned(channels: new[] { "orders" }), HttpStatusCode.Unauthorized, "invalid-signature");

    [Fact]
    public Task WrongAudience_Is401() =>
        AssertRefusedAndLoggedAsync(TestTokens.Create(audience: "someone-else"), HttpStatusCode.Unauthorized, "wrong-audience");

    [Fact]
    public Task WrongIssuer_Is401() =>
        AssertRefusedAndLoggedAsync(TestTokens.Create(issuer: "https://evil.test"), HttpStatusCode.Unauthorized, "wrong-issuer");

    [Fact]
    public async Task TokensInQueryAndHeaderThatDisagree_Are400()
    {
        var detail = await RefusedAsync(_edge, "/events?token=" + TestTokens.Create(sub: "mallory"), HttpStatusCode.BadRequest, TestTokens.Bearer(TestTokens.Create(sub: "alice")));
        Assert.Contains("different tokens", detail, StringComparison.Ordinal);
        Assert.True(_logs.Has(EdgeEventIds.AuthRefused, "token-conflict"));
        await StillServesAsync(_edge, _bystander);

        // The same token in both places is fine.
        var token = TestTokens.Create(sub: "alice");
        await using var same = await SseTestClient.ConnectAsync(_edge.BaseAddress, "/events?token=" + token, headers: TestTokens.Bearer(token));
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
    }

    [Theory]
    [InlineData("user:someone-else", HttpStatusCode.Forbidden)]
    [InlineData("session:someone-elses-session", HttpStatusCode.Forbidden)]
    [InlineData("orders.secret", HttpStatusCode.Forbidden)]
    [InlineData("*", HttpStatusCode.BadRequest)]
    [InlineData("orders.*", HttpStatusCode.BadRequest)]
    [InlineData("admin", HttpStatusCode.Forbidden)]
    public async Task ChannelEscalation_IsRefused(string channel, HttpStatusCode status)
    {
        var token = TestTokens.Create(sub: "alice", channels: new[] { "orders", "chat.*" });
        var detail = await RefusedAsync(_edge, "/events?channels=" + Uri.EscapeDataString(channel) + "&token=" + token, status);
        Assert.Contains(channel.TrimEnd('*').TrimEnd('.'), detail, StringComparison.Ordinal);
        await StillServesAsync(_edge, _bystander);
    }

    [Fact]
    public async Task VeryLongChannelLists_Are400()
    {
        var token = TestTokens.Create(sub: "alice", channels: "chat.*");
        var many = string.Join(',', Enumerable.Range(0, 500).Select(i => "chat." + i));
        await RefusedAsync(_edge, "/events?channels=" + many + "&token=" + token, HttpStatusCode.BadRequest);
        await StillServesAsync(_edge, _bystander);
    }

    [Theory]
    [InlineData("userId", "alice%0D%0Aevent:%20pwned")]
    [InlineData("sessionId", "s%0Aid:%201")]
    [InlineData("sessionId", "s%00")]
    [InlineData("channels", "orders%0D%0Adata:%20x")]
    [InlineData("channels", "orders%00")]
    [InlineData("token", "abc%0D%0AX-Injected:%201")]
    public async Task ControlCharactersInQueryValues_AreRefused_NeverEchoed(string name, string value)
    {
        await using var client = await SseTestClient.ConnectAsync(_edge.BaseAddress, $"/events?{name}={value}", headers: name == "token" ? null : TestTokens.Bearer(TestTokens.Create(sub: "alice", channels: "orders")));
        Assert.True(client.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, client.StatusCode.ToString());
        var body = await client.Response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("\r", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\0", body, StringComparison.Ordinal);
        Assert.False(client.Response.Headers.Contains("X-Injected"));
        await StillServesAsync(_edge, _bystander);
    }

    [Fact]
    public async Task ControlCharactersInLastEventId_AreAGap_NeverInjected()
    {
        var token = TestTokens.Create(sub: "alice", channels: "orders");
        await using var client = await SseTestClient.ConnectAsync(_edge.BaseAddress, "/events?channels=orders&lastEventId=1%0D%0Aevent:%20pwned%0A%0Adata:%20x&token=" + token);
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        var gap = await client.ReadEventAsync(Wait);
        Assert.Equal("edge-gap", gap.Event);
        Assert.DoesNotContain("pwned", client.RawText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ControlCharactersInHeaders_AreRefusedByTheServer_With400()
    {
        foreach (var header in new[] { "X-Session-Id: s\0x", "Last-Event-ID: 1\0", "Authorization: Bearer a\0b" })
        {
            var status = await RawRequestAsync($"GET /events HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 400", status, StringComparison.Ordinal);
        }

        await StillServesAsync(_edge, _bystander);
    }

    [Fact]
    public async Task OversizedQueryString_Is414()
    {
        var status = await RawRequestAsync($"GET /events?token={new string('a', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 414", status, StringComparison.Ordinal);
        await StillServesAsync(_edge, _bystander);
    }

    [Fact]
    public async Task OversizedHeaders_Are431()
    {
        var status = await RawRequestAsync($"GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {new string('a', 40_000)}\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 431", status, StringComparison.Ordinal);
        status = await RawRequestAsync($"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: {new string('1', 40_000)}\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 431", status, StringComparison.Ordinal);
        await StillServesAsync(_edge, _bystander);
    }

    [Fact]
    public async Task LongButAllowedLastEventId_IsAGap_Not5xx()
    {
        var token = TestTokens.Create(sub: "alice", channels: "orders");
        await using var client = await SseTestClient.ConnectAsync(_edge.BaseAddress, "/events?channels=orders", lastEventId: new string('9', 8000), headers: TestTokens.Bearer(token));
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        Assert.Equal("edge-gap", (await client.ReadEventAsync(Wait)).Event);
    }

    [Fact]
    public async Task AFloodOfConnectsFromOneIp_IsRateLimited_OthersKeepReceiving()
    {
        await using var edge = await StartAsync(
            ("Edge:RateLimiting:Policies:connects:Kind", "FixedWindow"),
            ("Edge:RateLimiting:Policies:connects:PartitionBy", "Ip"),
            ("Edge:RateLimiting:Policies:connects:PermitLimit", "20"),
            ("Edge:RateLimiting:Policies:connects:Window", "00:05:00"),
            ("Edge:Streams:events:RateLimitPolicy", "connects"));
        await using var bystander = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders", headers: TestTokens.Bearer(TestTokens.Create(sub: "bystander", channels: "orders")));
        Assert.Equal(HttpStatusCode.OK, bystander.StatusCode);

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = edge.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var statuses = await Task.WhenAll(Enumerable.Range(0, 300).Select(async _ =>
        {
            using var response = await http.GetAsync("/events?token=" + TestTokens.Create(sub: "flooder"), HttpCompletionOption.ResponseHeadersRead);
            return response.StatusCode;
        })).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(19, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(281, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.True(_logs.Has(EdgeEventIds.RateLimited));
        await StillServesAsync(edge, bystander);
    }

    [Fact]
    public async Task AClientThatNeverReads_IsClosedAsSlowConsumer_WithAuthOn_OthersKeepReceiving()
    {
        await using var edge = await StartAsync(("Edge:Streams:events:QueueCapacity", "32"));
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        var limiter = edge.Services.GetRequiredService<ConnectionLimiter>();
        await using var fast = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders", headers: TestTokens.Bearer(TestTokens.Create(sub: "fast", channels: "orders")));

        using var stalled = new TcpClient();
        stalled.ReceiveBufferSize = 4096;
        await stalled.ConnectAsync(IPAddress.Loopback, edge.BaseAddress.Port);
        var token = TestTokens.Create(sub: "stalled", channels: "orders");
        await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /events?channels=orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"));
        var deadline = DateTime.UtcNow + Wait;
        while (limiter.Counts.Total < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the stalled client was not admitted");
            await Task.Delay(10);
        }

        var payload = new string('x', 16 * 1024);
        for (var b = 0; b < 40; b++)
        {
            var batch = "[" + string.Join(',', Enumerable.Range(0, 10).Select(i => $$"""{"channel":"orders","data":"{{b}}-{{i}}:{{payload}}"}""")) + "]";
            using var response = await edge.PublishAsync(batch);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            await fast.ReadEventsAsync(10, Wait);
        }

        deadline = DateTime.UtcNow + Wait;
        while (metrics.SlowConsumers < 1 || limiter.Counts.Total != 1)
        {
            Assert.True(DateTime.UtcNow < deadline, $"slow consumers {metrics.SlowConsumers}, counts {limiter.Counts}");
            await Task.Delay(20);
        }

        await StillServesAsync(edge, fast);
    }

    [Fact]
    public async Task Draining_EventStyle_Is200WithRetryAndErrorEvent()
    {
        await using var edge = await StartAsync(("Edge:Streams:events:RefusalStyle", "Event"), ("Edge:Streams:events:RefusalRetryMilliseconds", "3000"));
        edge.Services.GetRequiredService<Edge.Hub.EventHub>().BeginDrain();
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: TestTokens.Bearer(TestTokens.Create()));
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        var frame = await client.ReadFrameAsync(Wait);
        Assert.Equal(("error", """{"error":"Service Unavailable","code":503,"reason":"draining"}"""), (frame.Event, frame.Data));
        Assert.InRange(frame.Retry!.Value, 2000, 3000);
    }

    private async Task<string> RawRequestAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _edge.BaseAddress.Port).WaitAsync(Wait);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request)).AsTask().WaitAsync(Wait);
        var buffer = new byte[512];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(Wait);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}
