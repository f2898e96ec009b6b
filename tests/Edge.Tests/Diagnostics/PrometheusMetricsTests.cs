using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Edge.Brokers;
using Edge.Brokers.InMemory;
using Edge.Diagnostics;
using Edge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Diagnostics;

/// <summary>
/// Every metric moves in a test that causes it, read back as Prometheus reads it: the
/// OpenTelemetry exporter's scrape of <c>/_edge/metrics</c> over HTTP from the running edge.
/// </summary>
[Trait("Category", "Operations")]
public sealed class PrometheusMetricsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenStreams_Endings_AndDuration_CountPerStream_OnBothPaths(bool directStreams)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:DirectStreams", directStreams ? "true" : "false"),
            ("Edge:Streams:other:Path", "/other")));
        using var http = edge.CreateClient();
        var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=a");
        await using var second = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=a");
        await using var other = await SseTestClient.ConnectAsync(edge.BaseAddress, "/other");

        var open = await EventuallyAsync(http, s => s.Value("edge_streams_open", ("stream", "events")) == 2 && s.Value("edge_streams_open", ("stream", "other")) == 1);
        Assert.Equal(2, open.Value("edge_streams_connects_total", ("stream", "events"), ("result", "accepted")));

        await first.DisposeAsync();
        var closed = await EventuallyAsync(http, s => s.Value("edge_streams_open", ("stream", "events")) == 1);
        Assert.Equal(1, closed.Value("edge_streams_endings_total", ("stream", "events"), ("reason", "client")));
        Assert.Equal(1, closed.Value("edge_streams_duration_seconds_count", ("stream", "events")));
        Assert.True(closed.Has("edge_streams_duration_seconds_bucket", ("stream", "events"), ("le", "+Inf")));
        Assert.Equal(1, closed.Value("edge_streams_open", ("stream", "other")));
    }

    [Fact]
    public async Task PublishedDeliveredAndLatency_MoveWithEvents_OnTheFastPathToo()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var http = edge.CreateClient();
        await using var a = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=m");
        await using var b = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=m");
        await EventuallyAsync(http, s => s.Value("edge_streams_open") == 2);

        using (var response = await edge.PublishAsync("""[{"channel":"m","data":"1"},{"channel":"m","data":"2"},{"channel":"m","data":"3"}]"""))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await a.ReadEventsAsync(3, Wait);
        await b.ReadEventsAsync(3, Wait);
        var scrape = await EventuallyAsync(http, s => s.Value("edge_events_delivered_total") == 6);
        Assert.Equal(3, scrape.Value("edge_events_published_total"));
        Assert.Equal(3, scrape.Value("edge_broker_records_total"));
        Assert.InRange(scrape.Value("edge_events_delivery_latency_seconds_count"), 3, 3 * Environment.ProcessorCount);
        Assert.InRange(scrape.Value("edge_events_delivery_latency_seconds_sum"), 0, 5);
        Assert.InRange(scrape.Value("edge_broker_feed_lag_seconds"), 0, 5);
        Assert.Equal(1, scrape.Value("edge_broker_up"));

        using var bad = await edge.PublishAsync("""{"event":"no channel"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        await EventuallyAsync(http, s => s.Value("edge_publish_rejected_total") == 1);
    }

    [Fact]
    public async Task Refusals_AreCountedByReason()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(RefusalScenario.Settings()));
        using var http = edge.CreateClient();
        await RefusalScenario.ExpectAsync(http, "/events?channels=orders.*", HttpStatusCode.BadRequest);
        foreach (var held in await RefusalScenario.RunAsync(edge, http))
        {
            await using var _ = held;
        }

        using (var post = await http.PostAsync("/events", new StringContent("x")))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        }

        var scrape = await PrometheusScrape.ReadAsync(http);
        (string Key, string Value) Refused(string reason) => ("reason", reason);
        Assert.Equal(1, scrape.Value("edge_streams_connects_total", ("stream", "secure"), ("result", "refused"), Refused("auth")));
        Assert.Equal(1, scrape.Value("edge_streams_connects_total", ("stream", "events"), ("result", "refused"), Refused("channel")));
        Assert.Equal(2, scrape.Value("edge_streams_connects_total", ("stream", "events"), ("result", "refused"), Refused("bad_request")));
        Assert.Equal(1, scrape.Value("edge_streams_connects_total", ("stream", "events"), ("result", "refused"), Refused("limit")));
        Assert.Equal(1, scrape.Value("edge_streams_connects_total", ("stream", "limited"), ("result", "refused"), Refused("rate")));
        Assert.Equal(1, scrape.Value("edge_streams_connects_total", ("stream", "events"), ("result", "refused"), Refused("draining")));
        Assert.Equal(1, scrape.Value("edge_connection_limit_hits_total", ("limit", "user_stream")));
        Assert.Equal(2, scrape.Value("edge_streams_endings_total", ("reason", "drain")));
    }

    [Fact]
    public async Task Endings_SlowConsumerTokenExpiryAndEviction_AreCountedByReason()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            [
                ("Edge:Streams:events:QueueCapacity", "16"),
                ("Edge:Streams:events:Limits:MaxConnectionsPerUser", "1"),
                ("Edge:Streams:events:Limits:AtLimit", "CloseOldest"),
                .. TestTokens.JwtStream("secure", ("Edge:Streams:secure:Auth:Jwt:ClockSkew", "00:00:00")),
                ("Edge:Streams:secure:Path", "/secure"),
            ]));
        using var http = edge.CreateClient();

        var oldest = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await oldest.ReadFrameAsync(Wait);
        await using var newest = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await oldest.WaitForEndAsync(Wait);
        await oldest.DisposeAsync();

        await using var expiring = await SseTestClient.ConnectAsync(edge.BaseAddress, "/secure", headers: TestTokens.Bearer(TestTokens.Create(expiresIn: TimeSpan.FromSeconds(2))));
        Assert.Equal(HttpStatusCode.OK, expiring.StatusCode);

        // A client that sends its request and never reads: it falls behind and is closed.
        using var stalled = new TcpClient();
        stalled.ReceiveBufferSize = 4096;
        await stalled.ConnectAsync(IPAddress.Loopback, edge.BaseAddress.Port);
        await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /events?channels=firehose HTTP/1.1\r\nHost: {edge.BaseAddress.Authority}\r\n\r\n"));
        await EventuallyAsync(http, s => s.Value("edge_streams_open", ("stream", "events")) == 2);
        var payload = new string('x', 16 * 1024);
        for (var batch = 0; batch < 40; batch++)
        {
            using var response = await edge.PublishAsync("[" + string.Join(',', Enumerable.Range(0, 10).Select(_ => $$"""{"channel":"firehose","data":"{{payload}}"}""")) + "]");
            if ((await PrometheusScrape.ReadAsync(http)).Value("edge_streams_endings_total", ("reason", "slow_consumer")) == 1)
            {
                break;
            }
        }

        await expiring.WaitForEndAsync(Wait);
        var scrape = await EventuallyAsync(http, s => s.Value("edge_streams_endings_total", ("reason", "token_expired")) == 1);
        Assert.Equal(1, scrape.Value("edge_streams_endings_total", ("stream", "events"), ("reason", "evicted")));
        Assert.Equal(1, scrape.Value("edge_streams_endings_total", ("stream", "events"), ("reason", "slow_consumer")));
        Assert.Equal(1, scrape.Value("edge_streams_endings_total", ("stream", "secure"), ("reason", "token_expired")));
    }

    [Fact]
    public async Task Replay_FromMemoryFromTheBrokerAndGaps_AreCountedBySource()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Replay:MaxEvents", "3")), configureServices: s => s.AddSingleton(log));
        using var http = edge.CreateClient();
        string cursor;
        await using (var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=r"))
        {
            await first.ReadFrameAsync(Wait);
            using var _ = await edge.PublishAsync("""{"channel":"r","data":"0"}""");
            cursor = (await first.ReadEventAsync(Wait)).Id!;
        }

        // Two events fit the window of three: replayed from memory.
        using (var _ = await edge.PublishAsync("""[{"channel":"r","data":"1"},{"channel":"r","data":"2"}]"""))
        {
        }

        await EventuallyAsync(http, s => s.Value("edge_broker_records_total") == 3);
        await using (var fromMemory = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=r", lastEventId: cursor))
        {
            await fromMemory.ReadEventsAsync(2, Wait);
        }

        // Five more push the cursor out of the window; the in-memory broker still retains them.
        using (var _ = await edge.PublishAsync("[" + string.Join(',', Enumerable.Range(3, 5).Select(i => $$"""{"channel":"r","data":"{{i}}"}""")) + "]"))
        {
        }

        await EventuallyAsync(http, s => s.Value("edge_broker_records_total") == 8);
        await using (var fromBroker = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=r", lastEventId: cursor))
        {
            await fromBroker.ReadEventsAsync(7, Wait);
        }

        await using (var malformed = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=r", lastEventId: "not-a-cursor"))
        {
            Assert.Equal("edge-gap", (await malformed.ReadEventAsync(Wait)).Event);
        }

        var scrape = await PrometheusScrape.ReadAsync(http);
        Assert.Equal(2, scrape.Value("edge_replay_events_total", ("source", "memory")));
        Assert.Equal(7, scrape.Value("edge_replay_events_total", ("source", "broker")));
        Assert.Equal(1, scrape.Value("edge_replay_gaps_total", ("reason", "malformed-cursor")));
    }

    [Fact]
    public async Task MalformedAndDuplicateRecords_AreCounted()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(), configureServices: s => s.AddSingleton(log));
        using var http = edge.CreateClient();
        await new InMemoryBroker(log).PublishAsync(
        [
            new BrokerMessage("c", "m1", Encoding.UTF8.GetBytes("not json")),
            new BrokerMessage("c", "m2", Encoding.UTF8.GetBytes("""{"channel":"c","data":1}""")),
            new BrokerMessage("c", "m2", Encoding.UTF8.GetBytes("""{"channel":"c","data":1}""")),
        ], CancellationToken.None);

        var scrape = await EventuallyAsync(http, s => s.Value("edge_broker_records_total") == 3);
        Assert.Equal(1, scrape.Value("edge_broker_records_malformed_total"));
        Assert.Equal(1, scrape.Value("edge_broker_records_duplicate_total"));
    }

    [Fact]
    public async Task ProxyErrors_AndTheFrameworkMeters_AreExported()
    {
        // An upstream address nothing listens on: YARP answers 502 and reports a request error.
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var deadPort = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/ok", () => "fine"));
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("ReverseProxy:Routes:ok:ClusterId", "ok"),
            ("ReverseProxy:Routes:ok:Match:Path", "/ok"),
            ("ReverseProxy:Clusters:ok:Destinations:d:Address", upstream.Address.ToString()),
            ("ReverseProxy:Routes:dead:ClusterId", "dead"),
            ("ReverseProxy:Routes:dead:Match:Path", "/dead"),
            ("ReverseProxy:Clusters:dead:Destinations:d:Address", $"http://127.0.0.1:{deadPort}/")));
        using var http = edge.CreateClient();
        Assert.Equal("fine", await http.GetStringAsync("/ok"));
        using (var failed = await http.GetAsync("/dead"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        var scrape = await EventuallyAsync(http, s => s.Value("edge_proxy_errors_total", ("error", "request")) == 1);
        Assert.True(scrape.Value("http_server_request_duration_seconds_count", ("http_response_status_code", "502")) >= 1, "ASP.NET Core's request duration");
        Assert.True(scrape.Value("http_client_request_duration_seconds_count", ("http_response_status_code", "200")) >= 1, "YARP's upstream request through System.Net.Http");
        Assert.True(scrape.Has("kestrel_active_connections"), "Kestrel's connections");
        Assert.True(scrape.Has("dotnet_gc_heap_total_allocated_bytes_total"), "the runtime's GC");
    }

    [Fact]
    public async Task SeparateListener_AndApiKey_GuardBothForms()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Metrics:Url", "http://127.0.0.1:0"),
            ("Edge:Metrics:ApiKeys:0", "scrape-key")));
        using var main = edge.CreateClient();
        var port = edge.Services.GetRequiredService<MetricsListener>().Port;
        Assert.NotEqual(edge.BaseAddress.Port, port);
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        using (var onMain = await main.GetAsync("/_edge/metrics"))
        {
            Assert.Equal(HttpStatusCode.NotFound, onMain.StatusCode);
        }

        using (var withoutKey = await metrics.GetAsync("/_edge/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, withoutKey.StatusCode);
            Assert.DoesNotContain("edge_", await withoutKey.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        metrics.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "scrape-key");
        var scrape = await PrometheusScrape.ReadAsync(metrics);
        Assert.True(scrape.Has("edge_broker_up"));

        using var json = JsonDocument.Parse(await metrics.GetStringAsync("/_edge/metrics.json"));
        Assert.True(json.RootElement.GetProperty("memory").GetProperty("gcHeapBytes").GetInt64() > 0, "the GC heap is read now, not from the last collection");
        using var jsonOnMain = await main.GetAsync("/_edge/metrics.json");
        Assert.Equal(HttpStatusCode.NotFound, jsonOnMain.StatusCode);
    }

    [Fact]
    public async Task TwoEdgesInOneProcess_EachScrapesOnlyItsOwnInstruments()
    {
        await using var first = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var second = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var firstHttp = first.CreateClient();
        using var secondHttp = second.CreateClient();
        await using var stream = await SseTestClient.ConnectAsync(first.BaseAddress, "/events");
        await EventuallyAsync(firstHttp, s => s.Value("edge_streams_open", ("stream", "events")) == 1);

        var other = await PrometheusScrape.ReadAsync(secondHttp);
        Assert.Equal(0, other.Value("edge_streams_open"));
        Assert.Equal(0, other.Value("edge_streams_connects_total"));
        Assert.Single(other.Text.Split('\n'), line => line.StartsWith("edge_broker_up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ConfiguredPath_ServesTheScrape()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Metrics:Path", "/metrics")));
        using var http = edge.CreateClient();
        Assert.True((await PrometheusScrape.ReadAsync(http, "/metrics")).Has("edge_broker_up"));
    }

    [Fact]
    public async Task Otlp_PushesTheEdgesInstruments_ToACollector()
    {
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var collector = await UpstreamTestServer.StartAsync(app => app.MapPost("/v1/metrics", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            if (context.Request.ContentType == "application/x-protobuf" && Encoding.UTF8.GetString(body.ToArray()).Contains("edge.broker.up", StringComparison.Ordinal))
            {
                received.TrySetResult(body.ToArray());
            }

            return Results.Ok();
        }));
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Metrics:Otlp:Endpoint", new Uri(collector.Address, "/v1/metrics").ToString()),
            ("Edge:Metrics:Otlp:Interval", "00:00:00.2")));

        var payload = await received.Task.WaitAsync(Wait);
        Assert.Contains("edge.events.delivered", Encoding.UTF8.GetString(payload), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidMetricsConfiguration_StopsTheStart_NamingEachKey()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Metrics:Path", "metrics"),
            ("Edge:Metrics:Url", "https://127.0.0.1:9464"),
            ("Edge:Metrics:Otlp:Endpoint", "collector:4317"))));
        Assert.Contains("Edge:Metrics:Path", error.Message, StringComparison.Ordinal);
        Assert.Contains("Edge:Metrics:Url", error.Message, StringComparison.Ordinal);
        Assert.Contains("Edge:Metrics:Otlp:Endpoint", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds (the edge counts as streams close, a moment after the client sees it).</summary>
    private static async Task<PrometheusScrape> EventuallyAsync(HttpClient http, Func<PrometheusScrape, bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var scrape = await PrometheusScrape.ReadAsync(http);
            if (condition(scrape))
            {
                return scrape;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The scrape never showed what was expected:\n" + scrape.Text);
            }

            await Task.Delay(50);
        }
    }
}
