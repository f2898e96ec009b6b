using System.Net;
using Edge.Hub;
using Edge.Limits;
using Edge.Testing;
using Edge.Tests.Functional;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Edge.Tests.Auth.AuthAssert;

namespace Edge.Tests.Limits;

[Trait("Category", "Identity")]
public sealed class ConnectionLimitTests
{
    private static Task<EdgeTestHost> StartAsync(params (string Key, string? Value)[] settings) => EdgeTestHost.StartAsync(TestSettings.Default(settings));

    private static async Task WaitForZeroAsync(EdgeTestHost edge)
    {
        var limiter = edge.Services.GetRequiredService<ConnectionLimiter>();
        var hub = edge.Services.GetRequiredService<EventHub>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (limiter.Counts != (0, 0, 0, 0) || hub.ConnectionCount != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Counts did not return to zero: {limiter.Counts}, hub {hub.ConnectionCount}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task PerUserOnStream_Reject_Is429WithRetryAfter_AndTheSlotComesBack()
    {
        await using var edge = await StartAsync(("Edge:Streams:events:Limits:MaxConnectionsPerUser", "2"), ("Edge:Limits:RetryAfterSeconds", "7"));
        var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await using var second = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await using var otherUser = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u2");
        Assert.Equal(HttpStatusCode.OK, otherUser.StatusCode);

        await using (var third = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1"))
        {
            await ProblemAsync(third.Response, HttpStatusCode.TooManyRequests);
            Assert.Equal(TimeSpan.FromSeconds(7), third.Response.Headers.RetryAfter?.Delta);
        }

        await first.DisposeAsync();
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            await using var again = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
            if (again.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "The slot of the closed stream never came back.");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task EventStyle_Is200_WithRetryAndErrorEvent_ThenClose()
    {
        await using var edge = await StartAsync(
            ("Edge:Streams:events:Limits:MaxConnectionsPerUser", "1"),
            ("Edge:Streams:events:RefusalStyle", "Event"),
            ("Edge:Limits:RetryAfterSeconds", "4"));
        await using var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await using var second = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var frame = await second.ReadFrameAsync(Wait);
        Assert.Equal(("error", """{"error":"Too Many Requests","code":429,"reason":"user-stream-connection-limit"}"""), (frame.Event, frame.Data));
        Assert.InRange(frame.Retry!.Value, 4000, 6000);
        await second.WaitForEndAsync(Wait);
        Assert.True(second.Ended);
    }

    [Fact]
    public async Task CloseOldest_TheOldestGetsAFinalEvent_TheNewOneServes()
    {
        await using var edge = await StartAsync(
            ("Edge:Streams:events:Limits:MaxConnectionsPerUser", "2"),
            ("Edge:Streams:events:Limits:AtLimit", "CloseOldest"),
            ("Edge:Limits:ReplacedRetryMilliseconds", "60000"));
        await using var oldest = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await oldest.ReadFrameAsync(Wait);
        await using var middle = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await middle.ReadFrameAsync(Wait);
        await using var newest = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        Assert.Equal(HttpStatusCode.OK, newest.StatusCode);

        var final = await oldest.ReadEventAsync(Wait);
        Assert.Equal(("error", """{"error":"Too Many Requests","code":429,"reason":"replaced-by-newer-stream"}"""), (final.Event, final.Data));
        Assert.InRange(final.Retry!.Value, 60000, 90000);
        await oldest.WaitForEndAsync(Wait);
        Assert.Equal(2, edge.Services.GetRequiredService<ConnectionLimiter>().Counts.Total);

        using var _ = await edge.PublishAsync("""{"userId":"u1","data":"hello"}""");
        Assert.Equal("hello", (await newest.ReadEventAsync(Wait)).Data);
        Assert.Equal("hello", (await middle.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task PerUserAcrossStreams_CountsEveryStream()
    {
        await using var edge = await StartAsync(("Edge:Streams:other:Path", "/other"), ("Edge:Limits:MaxConnectionsPerUser", "2"));
        await using var a = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await using var b = await SseTestClient.ConnectAsync(edge.BaseAddress, "/other?userId=u1");
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        await RefusedAsync(edge, "/other?userId=u1", HttpStatusCode.TooManyRequests);
        await RefusedAsync(edge, "/events?userId=u1", HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task PerIp_AppliesToAnonymousClientsOnly()
    {
        await using var edge = await StartAsync(("Edge:Limits:MaxConnectionsPerIp", "2"));
        await using var a = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        await using var b = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        await RefusedAsync(edge, "/events", HttpStatusCode.TooManyRequests);
        await using var user = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
    }

    [Fact]
    public async Task Global_Is503WithRetryAfter()
    {
        await using var edge = await StartAsync(("Edge:Limits:MaxConnections", "2"));
        await using var a = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await using var b = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u2");
        await using var c = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u3");
        await ProblemAsync(c.Response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(c.Response.Headers.RetryAfter);
    }

    [Fact]
    public async Task ConcurrentConnects_OfOneUser_AdmitExactlyTheLimit()
    {
        await using var edge = await StartAsync(("Edge:Streams:events:Limits:MaxConnectionsPerUser", "5"));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 100 }) { BaseAddress = edge.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => http.GetAsync("/events?userId=same", HttpCompletionOption.ResponseHeadersRead))).WaitAsync(TimeSpan.FromSeconds(30));
        try
        {
            Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
            Assert.Equal(35, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
            Assert.Equal(5, edge.Services.GetRequiredService<ConnectionLimiter>().Counts.Total);
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        await WaitForZeroAsync(edge);
    }

    [Fact]
    public async Task ThousandsOfConcurrentOpensAndCloses_CountsReturnToZero()
    {
        await using var edge = await StartAsync(
            ("Edge:Streams:events:Limits:MaxConnectionsPerUser", "3"),
            ("Edge:Streams:events:Limits:AtLimit", "CloseOldest"),
            ("Edge:Limits:MaxConnectionsPerIp", "1000"),
            ("Edge:Limits:MaxConnectionsPerUser", "4"));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(1) }) { BaseAddress = edge.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var gate = new SemaphoreSlim(64);
        var admitted = 0;
        var tasks = Enumerable.Range(0, 3000).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var path = i % 4 == 0 ? "/events" : $"/events?userId=u{i % 37}";
                using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref admitted);
                    if (i % 3 == 0)
                    {
                        // Read the hello first; the others leave at once.
                        await using var body = await response.Content.ReadAsStreamAsync();
                        await body.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(120));

        Assert.True(admitted > 1000, $"only {admitted} admitted");
        await WaitForZeroAsync(edge);
    }

    [Fact]
    public async Task Shutdown_ReleasesEverySlot()
    {
        var edge = await StartAsync(("Edge:Streams:events:Limits:MaxConnectionsPerUser", "5"));
        var limiter = edge.Services.GetRequiredService<ConnectionLimiter>();
        var clients = new List<SseTestClient>();
        for (var i = 0; i < 5; i++)
        {
            clients.Add(await SseTestClient.ConnectAsync(edge.BaseAddress, i % 2 == 0 ? "/events?userId=u1" : "/events"));
        }

        Assert.Equal(5, limiter.Counts.Total);
        await edge.StopAsync();
        Assert.Equal((0, 0, 0, 0), limiter.Counts);
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        await edge.DisposeAsync();
    }
}
