using System.Net;
using System.Text.Json;
using Edge.Diagnostics;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Functional;

public sealed class StreamDeliveryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Stream_SendsHeadersAndHelloAtOnce_BeforeAnyEvent()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders");

        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        Assert.Equal("text/event-stream", client.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", client.Response.Headers.CacheControl?.ToString());
        Assert.Equal("no", client.Response.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Null(client.Response.Content.Headers.ContentEncoding.FirstOrDefault());
        var hello = await client.ReadFrameAsync(Wait);
        Assert.Equal(["ok"], hello.Comments);
        var cursor = await client.ReadFrameAsync(Wait);
        Assert.False(cursor.IsEvent);
        Assert.NotNull(cursor.Id);
    }

    [Fact]
    public async Task Publish_NamedJsonEvent_ArrivesWithCursorId()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders");

        using var response = await edge.PublishAsync("""{"channel":"orders","event":"notification","data":{"message":"Order #12345 shipped"}}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        var received = await client.ReadEventAsync(Wait);
        Assert.Equal("notification", received.Event);
        Assert.Equal("""{"message":"Order #12345 shipped"}""", received.Data);
        Assert.Matches("^[0-9a-z]+-[0-9]+$", received.Id);
    }

    [Fact]
    public async Task Publish_MultiLineText_ArrivesAsSeveralDataLines()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c");

        using var _ = await edge.PublishAsync("""{"channel":"c","data":"first\nsecond\r\nthird"}""");

        var received = await client.ReadEventAsync(Wait);
        Assert.Equal("message", received.Type);
        Assert.Equal("first\nsecond\nthird", received.Data);
        Assert.Contains("data: first\ndata: second\ndata: third\n", received.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_NullData_ArrivesAsTheJsonValueNull()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c");

        using var _ = await edge.PublishAsync("""[{"channel":"c","event":"cleared","data":null},{"channel":"c","data":0}]""");

        var received = await client.ReadEventsAsync(2, Wait);
        Assert.Equal("null", received[0].Data);
        Assert.Contains("event: cleared\ndata: null\n", received[0].Raw, StringComparison.Ordinal);
        Assert.Equal("0", received[1].Data);
    }

    [Fact]
    public async Task Channels_OnlySubscribedChannelsArrive()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var orders = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders");
        await using var both = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders,alerts");

        using var _ = await edge.PublishAsync("""[{"channel":"alerts","data":"a1"},{"channel":"orders","data":"o1"},{"channel":"other","data":"x"}]""");

        Assert.Equal("o1", (await orders.ReadEventAsync(Wait)).Data);
        Assert.Equal(["a1", "o1"], (await both.ReadEventsAsync(2, Wait)).Select(e => e.Data));
        Assert.True(await orders.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
        Assert.True(await both.NoEventWithinAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task PersonalChannels_ReachOnlyTheirUserOrSession()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var alice = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=alice&channels=orders");
        await using var bob = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=bob&channels=orders");
        await using var session = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events", headers: new Dictionary<string, string> { ["X-Session-Id"] = "s-1" });

        using var _ = await edge.PublishAsync("""
            [{"userId":"alice","event":"notification","data":"for alice"},
             {"channel":"orders","userId":"bob","data":"orders for bob only"},
             {"sessionId":"s-1","event":"syncProgress","data":"75"},
             {"channel":"orders","data":"everyone on orders"}]
            """);

        Assert.Equal(["for alice", "everyone on orders"], (await alice.ReadEventsAsync(2, Wait)).Select(e => e.Data));
        Assert.Equal(["orders for bob only", "everyone on orders"], (await bob.ReadEventsAsync(2, Wait)).Select(e => e.Data));
        var progress = await session.ReadEventAsync(Wait);
        Assert.Equal(("syncProgress", "75"), (progress.Event, progress.Data));
        Assert.True(await alice.NoEventWithinAsync(TimeSpan.FromMilliseconds(200)));
        Assert.True(await session.NoEventWithinAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Theory]
    [InlineData("/events?userId=alice&channels=user:bob")]
    [InlineData("/events?channels=user:alice")]
    [InlineData("/events?sessionId=s1&channels=session:s2")]
    public async Task AskingForSomeoneElsesPersonalChannel_IsForbidden(string path)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, path);

        Assert.Equal(HttpStatusCode.Forbidden, client.StatusCode);
        Assert.Equal("application/problem+json", client.Response.Content.Headers.ContentType?.MediaType);
        var problem = await client.Response.Content.ReadAsStringAsync();
        Assert.Contains("belongs to someone else", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OwnPersonalChannel_MayBeNamed()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=alice&channels=user:alice");
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
    }

    [Theory]
    [InlineData("/events?channels=a%0Db")]
    [InlineData("/events?userId=a%0Aid:%20x")]
    [InlineData("/events?userId=%00")]
    public async Task ControlCharactersInClientValues_AreRefused(string path)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, path);
        Assert.Equal(HttpStatusCode.BadRequest, client.StatusCode);
    }

    [Fact]
    public async Task TooManyChannels_AreRefused()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Streams:events:MaxChannels", "3")));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=a,b,c,d");
        Assert.Equal(HttpStatusCode.BadRequest, client.StatusCode);
    }

    [Fact]
    public async Task PathChannels_MapRouteValues()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Streams:chat:Path", "/chat/{room}/events"),
            ("Edge:Streams:chat:Channels:0", "chat.{room}"),
            ("Edge:Streams:chat:ChannelsQuery", "")));
        await using var lobby = await SseTestClient.ConnectAsync(edge.BaseAddress, "/chat/lobby/events");
        await using var other = await SseTestClient.ConnectAsync(edge.BaseAddress, "/chat/other/events?channels=chat.lobby");

        using var _ = await edge.PublishAsync("""[{"channel":"chat.lobby","data":"<p>hi</p>"},{"channel":"chat.other","data":"<p>other</p>"}]""");

        Assert.Equal("<p>hi</p>", (await lobby.ReadEventAsync(Wait)).Data);
        Assert.Equal("<p>other</p>", (await other.ReadEventAsync(Wait)).Data);
        Assert.True(await lobby.NoEventWithinAsync(TimeSpan.FromMilliseconds(200)));
        Assert.True(await other.NoEventWithinAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task Heartbeat_ArrivesOnAnIdleStream()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Streams:events:Heartbeat:Interval", "00:00:00.200"),
            ("Edge:Streams:events:Heartbeat:Comment", "keepalive")));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=quiet");

        await client.ReadFrameAsync(Wait);
        await client.ReadFrameAsync(Wait);
        var heartbeat = await client.ReadFrameAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(["keepalive"], heartbeat.Comments);
        var next = await client.ReadFrameAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(["keepalive"], next.Comments);
    }

    [Fact]
    public async Task Heartbeat_AsNamedEvent()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Streams:events:Heartbeat:Interval", "00:00:00.200"),
            ("Edge:Streams:events:Heartbeat:Event", "heartbeat"),
            ("Edge:Streams:events:Heartbeat:Data", "{}")));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");

        var heartbeat = await client.ReadEventAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(("heartbeat", "{}"), (heartbeat.Event, heartbeat.Data));
        Assert.Null(heartbeat.Id);
    }

    [Fact]
    public async Task ThousandConcurrentStreams_AllReceiveTheSameEvent()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 2000 }) { BaseAddress = edge.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var clients = new List<SseTestClient>();
        try
        {
            for (var batch = 0; batch < 10; batch++)
            {
                clients.AddRange(await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => SseTestClient.ConnectAsync(http, ownsClient: false, "/events?channels=all"))));
            }

            var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
            Assert.Equal(1000, metrics.Connections);
            using var _ = await edge.PublishAsync("""{"channel":"all","event":"update","data":{"n":1}}""");

            var received = await Task.WhenAll(clients.Select(c => c.ReadEventAsync(TimeSpan.FromSeconds(30))));
            Assert.All(received, e => Assert.Equal("""{"n":1}""", e.Data));
            Assert.Single(received.Select(e => e.Id).Distinct());
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task ClientDisconnect_FreesTheConnectionAtOnce()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        var hub = edge.Services.GetRequiredService<Edge.Hub.EventHub>();
        var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=a,b,c&userId=u");
        Assert.Equal(1, metrics.Connections);
        Assert.Equal(4, hub.ChannelCount);

        await client.DisposeAsync();

        var deadline = DateTime.UtcNow + Wait;
        while ((metrics.Connections != 0 || hub.ChannelCount != 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, metrics.Connections);
        Assert.Equal(0, hub.ChannelCount);
        Assert.Equal(0, hub.ConnectionCount);
    }

    [Fact]
    public async Task ChannelsNamedTwice_AreReadOnce_BelowAndAboveTheScanLimit()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var hub = edge.Services.GetRequiredService<Edge.Hub.EventHub>();

        // Repeats both among the first 16 channels and after them.
        var names = Enumerable.Range(0, 20).Select(i => $"r{i}").Concat(["r3", "r17", "r0", "r19"]);
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=" + string.Join(',', names));
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        Assert.Equal(20, hub.ChannelCount);

        using (await edge.PublishAsync("""[{"channel":"r3","data":"3"},{"channel":"r17","data":"17"},{"channel":"r5","data":"end"}]"""))
        {
        }

        var events = await client.ReadEventsAsync(3, Wait);
        Assert.Equal(["3", "17", "end"], events.Select(e => e.Data));
    }

    [Fact]
    public async Task PostToAStreamPath_Is405()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var http = edge.CreateClient();
        using var response = await http.PostAsync("/events", new StringContent("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["GET", "OPTIONS"], response.Content.Headers.Allow);
    }

    [Fact]
    public async Task Metrics_CountDeliveries()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=m");
        using var _ = await edge.PublishAsync("""[{"channel":"m","data":"1"},{"channel":"m","data":"2"}]""");
        await client.ReadEventsAsync(2, Wait);

        using var http = edge.CreateClient();
        using var json = JsonDocument.Parse(await http.GetStringAsync("/_edge/metrics.json"));
        var counters = json.RootElement.GetProperty("counters");
        Assert.Equal(2, counters.GetProperty("eventsDelivered").GetInt64());
        Assert.Equal(2, counters.GetProperty("eventsPublished").GetInt64());
        Assert.True(json.RootElement.GetProperty("memory").GetProperty("workingSetBytes").GetInt64() > 0);
    }

    [Fact]
    public async Task Metrics_LimiterCounts_FollowOpenStreams_AndReturnToZero()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var http = edge.CreateClient();
        await using (var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=m&userId=u1"))
        {
            using var open = JsonDocument.Parse(await http.GetStringAsync("/_edge/metrics.json"));
            var limits = open.RootElement.GetProperty("limits");
            Assert.Equal(1, limits.GetProperty("streams").GetInt32());
            Assert.Equal(1, limits.GetProperty("users").GetInt32());
        }

        var deadline = DateTime.UtcNow + Wait;
        JsonElement after;
        do
        {
            using var json = JsonDocument.Parse(await http.GetStringAsync("/_edge/metrics.json"));
            after = json.RootElement.GetProperty("limits").Clone();
            if (after.GetProperty("streams").GetInt32() == 0)
            {
                break;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal(0, after.GetProperty("streams").GetInt32());
        Assert.Equal(0, after.GetProperty("users").GetInt32());
        Assert.Equal(0, after.GetProperty("userStreams").GetInt32());
        Assert.Equal(0, after.GetProperty("ips").GetInt32());
    }
}
