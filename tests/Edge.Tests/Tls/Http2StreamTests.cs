using System.Globalization;
using System.Net;
using Edge.Diagnostics;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Tls;

/// <summary>A stream over HTTP/2 (TLS, ALPN h2) behaves as over HTTP/1.1, and the streams of one connection do not hold each other up.</summary>
public sealed class Http2StreamTests
{
    private static readonly TimeSpan Wait = TlsTestKit.Wait;

    [Fact]
    public async Task Stream_OverHttp2_GetsHelloEvents_AndResumesWithLastEventId()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key));
        using var client = TlsTestKit.Client(TlsTestKit.Https(edge), HttpVersion.Version20);

        var first = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c");
        Assert.Equal(HttpVersion.Version20, first.Response.Version);
        Assert.Equal("text/event-stream", first.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["ok"], (await first.ReadFrameAsync(Wait)).Comments);
        await TlsTestKit.PublishAsync(client, """[{"channel":"c","data":"1"},{"channel":"c","data":"2"},{"channel":"c","data":"3"}]""");
        Assert.Equal(["1", "2", "3"], (await first.ReadEventsAsync(3, Wait)).Select(e => e.Data));
        var cursor = first.LastEventId;
        Assert.NotNull(cursor);
        await first.DisposeAsync();

        await TlsTestKit.PublishAsync(client, """[{"channel":"c","data":"4"},{"channel":"c","data":"5"}]""");
        await using var resumed = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c", lastEventId: cursor);
        Assert.Equal(HttpVersion.Version20, resumed.Response.Version);
        Assert.Equal(["4", "5"], (await resumed.ReadEventsAsync(2, Wait)).Select(e => e.Data));
        Assert.True(await resumed.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Refusals_OverHttp2_AreThoseOfHttp11()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key, TestTokens.JwtStream("events",
            ("Edge:Streams:events:Auth:ChannelRoles:admin.*:0", "admin"),
            ("Edge:Streams:events:Limits:MaxConnectionsPerUser", "1"))));
        using var client = TlsTestKit.Client(TlsTestKit.Https(edge), HttpVersion.Version20);

        await using (var anonymous = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events"))
        {
            Assert.Equal(HttpVersion.Version20, anonymous.Response.Version);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        await using (var forbidden = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=admin.log", headers: TestTokens.Bearer(TestTokens.Create(sub: "ann", channels: new[] { "admin.*" }))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        await using var admitted = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events", headers: TestTokens.Bearer(TestTokens.Create(sub: "bob")));
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        await using (var second = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events", headers: TestTokens.Bearer(TestTokens.Create(sub: "bob"))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
            Assert.NotNull(second.Response.Headers.RetryAfter);
        }
    }

    [Fact]
    public async Task Drain_OverHttp2_SendsTheRetryHint_AndEndsTheStream()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key, ("Edge:Shutdown:RetryHintMilliseconds", "1500")));
        using var client = TlsTestKit.Client(TlsTestKit.Https(edge), HttpVersion.Version20);
        await using var stream = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c");
        try
        {
            Assert.Equal(HttpVersion.Version20, stream.Response.Version);
            await stream.ReadFrameAsync(Wait);
            await edge.StopAsync();
            await stream.WaitForEndAsync(Wait);
            Assert.Contains("retry: 1500", stream.RawText, StringComparison.Ordinal);
        }
        finally
        {
            await edge.DisposeAsync();
        }
    }

    [Fact]
    public async Task SlowConsumer_OnOneHttp2Connection_IsClosed_WhileTheOtherStreamGetsEveryEventInOrder()
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key, ("Edge:Streams:events:QueueCapacity", "64")));
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        var connects = 0;
        using var client = TlsTestKit.Client(TlsTestKit.Https(edge), HttpVersion.Version20, () => Interlocked.Increment(ref connects));
        client.Timeout = Timeout.InfiniteTimeSpan;

        await using var reader = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=firehose");
        await reader.ReadFrameAsync(Wait);

        // The second stream on the same connection: its head is read, its body never is, so its
        // HTTP/2 window fills, then Kestrel's buffer for it, then its queue at the edge.
        using var stalledRequest = new HttpRequestMessage(HttpMethod.Get, "/events?channels=firehose");
        using var stalled = await client.SendAsync(stalledRequest, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Wait);
        Assert.Equal(HttpStatusCode.OK, stalled.StatusCode);
        Assert.Equal(HttpVersion.Version20, stalled.Version);
        await TlsTestKit.EventuallyAsync(() => Task.FromResult(metrics.Connections == 2), Wait, "both streams are open");

        var payload = new string('x', 16 * 1024);
        const int batches = 60;
        var received = new List<SseFrame>();
        for (var b = 0; b < batches; b++)
        {
            var batch = "[" + string.Join(',', Enumerable.Range(0, 10).Select(i => $$"""{"channel":"firehose","data":"{{b * 10 + i}}:{{payload}}"}""")) + "]";
            using var response = await edge.PublishAsync(batch);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

            // Each batch reaches the reading stream within the bound, whatever the stalled one does.
            received.AddRange(await reader.ReadEventsAsync(10, Wait));
        }

        Assert.Equal(Enumerable.Range(0, batches * 10), received.Select(e => int.Parse(e.Data![..e.Data!.IndexOf(':', StringComparison.Ordinal)], CultureInfo.InvariantCulture)));
        await TlsTestKit.EventuallyAsync(() => Task.FromResult(metrics.SlowConsumers == 1 && metrics.Connections == 1), Wait, $"the stalled stream is closed (slow consumers {metrics.SlowConsumers}, open {metrics.Connections})");
        Assert.Equal(1, Volatile.Read(ref connects));

        // The stalled client, reading at last, finds its stream ended (reset) long before the last event.
        var body = await stalled.Content.ReadAsStreamAsync();
        var total = 0L;
        var buffer = new byte[64 * 1024];
        using var drain = new CancellationTokenSource(Wait);
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer, drain.Token)) > 0)
            {
                total += read;
            }
        }
        catch (Exception ex) when (ex is HttpIOException or IOException)
        {
        }

        Assert.InRange(total, 0, batches * 10L * payload.Length / 2);
        Assert.False(drain.IsCancellationRequested, "the stalled stream was still open");
    }
}
