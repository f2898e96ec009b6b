using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Edge.Diagnostics;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Functional;

public sealed class BackpressureAndShutdownTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task SlowConsumer_IsClosed_WhileOthersKeepReceiving()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Streams:events:QueueCapacity", "64")));
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        await using var fast = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=firehose");

        // A client that sends its request and then never reads a byte.
        using var stalled = new TcpClient();
        stalled.ReceiveBufferSize = 4096;
        await stalled.ConnectAsync(IPAddress.Loopback, edge.BaseAddress.Port);
        var request = Encoding.ASCII.GetBytes($"GET /events?channels=firehose HTTP/1.1\r\nHost: {edge.BaseAddress.Authority}\r\nAccept: text/event-stream\r\n\r\n");
        await stalled.GetStream().WriteAsync(request);
        var deadline = DateTime.UtcNow + Wait;
        while (metrics.Connections < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        // Paced to the fast client, so only the stalled one falls behind (past its socket
        // buffers and its queue of 64).
        var payload = new string('x', 16 * 1024);
        const int batches = 60;
        var received = new List<SseFrame>();
        for (var b = 0; b < batches; b++)
        {
            var batch = "[" + string.Join(',', Enumerable.Range(0, 10).Select(i => $$"""{"channel":"firehose","data":"{{b * 10 + i}}:{{payload}}"}""")) + "]";
            using var response = await edge.PublishAsync(batch);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            received.AddRange(await fast.ReadEventsAsync(10, Wait));
        }

        Assert.Equal(Enumerable.Range(0, batches * 10), received.Select(e => int.Parse(e.Data![..e.Data!.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)));

        deadline = DateTime.UtcNow + Wait;
        while ((metrics.SlowConsumers < 1 || metrics.Connections != 1) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, metrics.SlowConsumers);
        Assert.Equal(1, metrics.Connections);
    }

    [Fact]
    public async Task Shutdown_SendsRetryHint_ClosesStreams_AndStopsWithinTheDrainTime()
    {
        var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Shutdown:DrainTimeout", "00:00:05"),
            ("Edge:Shutdown:RetryHintMilliseconds", "1500")));
        var clients = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c")));
        try
        {
            var watch = Stopwatch.StartNew();
            await edge.StopAsync();
            watch.Stop();

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {watch.Elapsed}");
            foreach (var client in clients)
            {
                await client.WaitForEndAsync(Wait);
                Assert.True(client.Ended);
                Assert.EndsWith("retry: 1500\n\n", client.RawText, StringComparison.Ordinal);
            }
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
            await edge.DisposeAsync();
        }
    }

    [Fact]
    public async Task WhileDraining_NewStreamsGet503WithRetryAfter()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        edge.Services.GetRequiredService<Edge.Hub.EventHub>().BeginDrain();

        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, client.StatusCode);
        Assert.NotNull(client.Response.Headers.RetryAfter);

        using var http = edge.CreateClient();
        using var ready = await http.GetAsync("/_edge/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }
}
