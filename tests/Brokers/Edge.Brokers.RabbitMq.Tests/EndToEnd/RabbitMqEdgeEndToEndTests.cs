using System.Net;
using System.Text.Json;
using Edge.Brokers.RabbitMq.Tests.Infrastructure;
using Edge.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Edge.Brokers.RabbitMq.Tests.EndToEnd;

/// <summary>Real edge hosts (Kestrel on loopback) sharing one RabbitMQ stream, with real SSE clients.</summary>
[Collection(RabbitMqCollection.Name)]
[Trait("Category", "RabbitMq")]
public sealed class RabbitMqEdgeEndToEndTests(RabbitMqFixture rabbit, ITestOutputHelper output)
{
    private const string PublishKey = "e2e-publish-key";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private Dictionary<string, string?> Settings(string stream) => new()
    {
        ["Edge:Broker:Type"] = "RabbitMq",
        ["Edge:Broker:RabbitMq:Uri"] = rabbit.Uri,
        ["Edge:Broker:RabbitMq:StreamName"] = stream,
        ["Edge:Broker:RabbitMq:Exchange"] = stream + ".x",
        ["Edge:Broker:RabbitMq:ReconnectDelayMin"] = "00:00:00.100",
        ["Edge:Broker:RabbitMq:ReconnectDelayMax"] = "00:00:01",
        ["Edge:Publish:ApiKeys:0"] = PublishKey,
        ["Edge:Streams:events:Path"] = "/events",
        ["Edge:Shutdown:DrainTimeout"] = "00:00:02",
        ["Logging:LogLevel:Default"] = Environment.GetEnvironmentVariable("EDGE_TEST_LOGS") == "1" ? "Information" : "Error",
        ["Logging:LogLevel:Edge"] = Environment.GetEnvironmentVariable("EDGE_TEST_LOGS") == "1" ? "Information" : "Error",
    };

    private string NewStream()
    {
        var stream = "edge-e2e-" + Guid.NewGuid().ToString("N")[..12];
        rabbit.Track(stream);
        return stream;
    }

    [Fact]
    [Trait("Category", "Operations")]
    public async Task EndStreams_ThroughTheAdminCallAndAsABrokerNativeControlMessage_EndsThemOnBothInstances()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var stream = NewStream();
        var settings = Settings(stream);
        settings["Edge:Admin:ApiKeys:0"] = EndStreamsScenario.AdminKey;
        await using var a = await EdgeTestHost.StartAsync(settings, cts.Token);
        await using var b = await EdgeTestHost.StartAsync(settings, cts.Token);

        await EndStreamsScenario.RunAsync(a, b, json => rabbit.PublishRawAsync(stream, System.Text.Encoding.UTF8.GetBytes(json), Guid.NewGuid().ToString("N"), stream + ".x", cts.Token), PublishKey);
    }

    [Fact]
    public async Task TwoEdgesOnOneStream_AClientOnEachReceivesEveryEventInOrder()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var a = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);
        await using var b = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);
        await using var onA = await ConnectAsync(a, null);
        await using var onB = await ConnectAsync(b, null);

        for (var i = 0; i < 40; i += 4)
        {
            // Alternate the instance that takes the publish: both write the one stream.
            await PublishAsync(i % 8 == 0 ? a : b, i, 4, cts.Token);
        }

        var expected = Enumerable.Range(0, 40).Select(i => "e" + i).ToList();
        Assert.Equal(expected, (await onA.ReadEventsAsync(40, Wait)).Select(e => e.Data));
        Assert.Equal(expected, (await onB.ReadEventsAsync(40, Wait)).Select(e => e.Data));
    }

    [Fact]
    public async Task ClientLeavesEdgeA_ResumesOnEdgeB_WithItsLastId_AndGetsExactlyTheMissedEvents()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var a = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);
        await using var b = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);

        string lastId;
        await using (var onA = await ConnectAsync(a, null))
        {
            await PublishAsync(a, 0, 10, cts.Token);
            var first = await onA.ReadEventsAsync(10, Wait);
            Assert.Equal(Enumerable.Range(0, 10).Select(i => "e" + i), first.Select(e => e.Data));
            lastId = first[^1].Id!;
        }

        await PublishAsync(a, 10, 10, cts.Token);
        await using var onB = await ConnectAsync(b, lastId);
        var missed = await onB.ReadEventsAsync(10, Wait);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => "e" + i), missed.Select(e => e.Data));
        Assert.True(await onB.NoEventWithinAsync(TimeSpan.FromMilliseconds(500)));

        await PublishAsync(b, 20, 1, cts.Token);
        Assert.Equal("e20", (await onB.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task EdgeRestart_ClientsResumeFromTheirIds_ReplayedFromTheStream()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var publisher = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);

        var lastIds = new List<string>();
        var edge = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);
        try
        {
            await using var c1 = await ConnectAsync(edge, null);
            await using var c2 = await ConnectAsync(edge, null);
            await PublishAsync(publisher, 0, 6, cts.Token);
            lastIds.Add((await c1.ReadEventsAsync(3, Wait))[^1].Id!);
            lastIds.Add((await c2.ReadEventsAsync(6, Wait))[^1].Id!);
        }
        finally
        {
            await edge.DisposeAsync();
        }

        // While the edge is down, more events are published through the other instance.
        await PublishAsync(publisher, 6, 6, cts.Token);

        await using var restarted = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);
        await using var r1 = await ConnectAsync(restarted, lastIds[0]);
        await using var r2 = await ConnectAsync(restarted, lastIds[1]);
        Assert.Equal(Enumerable.Range(3, 9).Select(i => "e" + i), (await r1.ReadEventsAsync(9, Wait)).Select(e => e.Data));
        Assert.Equal(Enumerable.Range(6, 6).Select(i => "e" + i), (await r2.ReadEventsAsync(6, Wait)).Select(e => e.Data));
        Assert.True(await r1.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
        Assert.True(await r2.NoEventWithinAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task BrokerRestart_DuringSteadyPublishThroughTheApi_EveryConfirmedEventReachesEveryClientOnce()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var a = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);
        await using var b = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);
        await using var onA = await ConnectAsync(a, null);
        await using var onB = await ConnectAsync(b, null);

        var confirmed = new System.Collections.Concurrent.ConcurrentQueue<int>();
        var unavailable = 0;
        var notReadyDuringOutage = false;
        using var publishing = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var publish = Task.Run(async () =>
        {
            using var clientA = a.CreateClient(TimeSpan.FromSeconds(15));
            using var clientB = b.CreateClient(TimeSpan.FromSeconds(15));
            for (var i = 0; !publishing.IsCancellationRequested; i++)
            {
                using var response = await PostAsync(i % 2 == 0 ? clientA : clientB, i, 1, cts.Token);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    confirmed.Enqueue(i);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    Assert.NotNull(response.Headers.RetryAfter);
                    unavailable++;
                    await Task.Delay(50, cts.Token);
                }

                await Task.Delay(5, cts.Token);
            }
        });

        await Task.Delay(1500, cts.Token);
        await rabbit.StopAppAsync(cts.Token);
        await Task.Delay(1000, cts.Token);
        using (var probe = a.CreateClient())
        using (var ready = await probe.GetAsync("_edge/ready", cts.Token))
        {
            notReadyDuringOutage = ready.StatusCode == HttpStatusCode.ServiceUnavailable;
        }

        await Task.Delay(1000, cts.Token);
        await rabbit.StartAppAsync(cts.Token);
        var restarted = DateTime.UtcNow;
        var confirmedBefore = confirmed.Count;
        while (confirmed.Count < confirmedBefore + 20 || DateTime.UtcNow - restarted < TimeSpan.FromSeconds(2))
        {
            Assert.True(DateTime.UtcNow - restarted < TimeSpan.FromSeconds(60), "publishing did not recover after the broker restart");
            await Task.Delay(100, cts.Token);
        }

        await publishing.CancelAsync();
        await Record.ExceptionAsync(() => publish.WaitAsync(Wait));
        Assert.False(onA.Ended, "the stream on A was closed during the outage");
        Assert.False(onB.Ended, "the stream on B was closed during the outage");

        output.WriteLine($"confirmed {confirmed.Count}, refused with 503 {unavailable}");
        Assert.True(unavailable > 0, "no publish was refused while the broker was down");
        Assert.True(notReadyDuringOutage, "readiness did not report the outage");
        var expected = confirmed.ToHashSet();
        foreach (var client in new[] { onA, onB })
        {
            var received = new List<int>();
            var missing = new HashSet<int>(expected);
            while (missing.Count > 0)
            {
                var data = (await client.ReadEventAsync(Wait)).Data!;
                var n = int.Parse(data.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                received.Add(n);
                missing.Remove(n);
            }

            // Events refused with 503 may still have been stored (a lost confirm); they are the only extras allowed.
            await client.NoEventWithinAsync(TimeSpan.FromMilliseconds(300));
            Assert.Equal(received.Distinct().Count(), received.Count);
            Assert.Equal(received.Order(), received);
        }
    }

    [Fact]
    public async Task NativePublisher_MalformedSkippedAndCounted_DuplicateIdDeliveredOnce_ExchangeAndStreamBothReachClients()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var edge = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);
        await using var client = await ConnectAsync(edge, null);
        var malformedBefore = await MalformedCountAsync(edge, cts.Token);

        static byte[] Envelope(string data) => System.Text.Encoding.UTF8.GetBytes($$"""{"channel":"orders","event":"order","data":"{{data}}"}""");
        await rabbit.PublishRawAsync(stream, System.Text.Encoding.UTF8.GetBytes("not json at all"), "bad-1", cancellationToken: cts.Token);
        await rabbit.PublishRawAsync(stream, System.Text.Encoding.UTF8.GetBytes("""{"event":"no channel","data":1}"""), "bad-2", cancellationToken: cts.Token);
        await rabbit.PublishRawAsync(stream, Envelope("n1"), "native-1", cancellationToken: cts.Token);
        await rabbit.PublishRawAsync(stream, Envelope("n1"), "native-1", cancellationToken: cts.Token); // a retry after a lost confirm
        await rabbit.PublishRawAsync(stream, Envelope("n2"), "native-2", exchange: stream + ".x", cancellationToken: cts.Token);

        Assert.Equal(["n1", "n2"], (await client.ReadEventsAsync(2, Wait)).Select(e => e.Data));
        Assert.True(await client.NoEventWithinAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(2, await MalformedCountAsync(edge, cts.Token) - malformedBefore);
    }

    [Fact]
    public async Task PublisherCli_RabbitMqTarget_ToTheStreamAndThroughTheExchange_ScenariosReachTheirSessions()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var edge = await EdgeTestHost.StartAsync(Settings(stream), cts.Token);
        await using var holder = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?sessionId=tab-a", cancellationToken: cts.Token);
        await using var other = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?sessionId=tab-b", cancellationToken: cts.Token);
        await using var admin = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=notify.i18n_debug", cancellationToken: cts.Token);

        // The CLI exactly as a user runs it (dotnet run --project src/Publisher.Samples -- rabbitmq ...).
        Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["rabbitmq", "document-lock", "--session", "tab-a", "--session", "tab-b", "--user", "ann", "--uri", rabbit.Uri, "--stream", stream], cts.Token).WaitAsync(Wait, cts.Token));
        Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["rabbitmq", "pdf", "--session", "tab-a", "--uri", rabbit.Uri, "--exchange", stream + ".x"], cts.Token).WaitAsync(Wait, cts.Token));
        Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["rabbitmq", "i18n-debug", "--count", "2", "--rate", "0", "--uri", rabbit.Uri, "--stream", stream], cts.Token).WaitAsync(Wait, cts.Token));

        var locked = await other.ReadEventAsync(Wait);
        Assert.Equal(("documentLocked", """{"stable_id":"doc-1","locked_by":"ann","session":"tab-a"}"""), (locked.Type, locked.Data));
        var pdf = await holder.ReadEventAsync(Wait);
        Assert.Equal("pdfProcessed", pdf.Type);
        Assert.Equal("success", JsonDocument.Parse(pdf.Data!).RootElement.GetProperty("status").GetString());
        Assert.Equal(["i18n_debug", "i18n_debug"], (await admin.ReadEventsAsync(2, Wait)).Select(e => e.Type));
        Assert.True(await other.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)), "the pdf went to tab-a only");
        Assert.True(await holder.NoEventWithinAsync(TimeSpan.FromMilliseconds(100)), "the lock holder is not told of its own lock");
    }

    [Fact]
    public async Task ReadyConfiguration_ConfigEdgeRabbitMqJson_StartsReadyAndDelivers()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Edge.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("no Edge.sln above the test binaries");
        }

        var overrides = new Dictionary<string, string?>
        {
            ["Edge:Broker:RabbitMq:Uri"] = rabbit.Uri,
            ["Edge:Broker:RabbitMq:StreamName"] = stream,
            ["Edge:Broker:RabbitMq:Exchange"] = stream + ".x",
            ["Edge:Publish:ApiKeys:0"] = PublishKey,
            ["Logging:LogLevel:Default"] = "Error",
        };
        await using var edge = await EdgeTestHost.StartAsync(overrides, cts.Token, configFile: Path.Combine(root, "config", "edge.rabbitmq.json"));
        using var client = edge.CreateClient();
        var deadline = DateTime.UtcNow + Wait;
        while ((await client.GetAsync("_edge/ready", cts.Token)).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "the edge never became ready");
            await Task.Delay(100, cts.Token);
        }

        await using var sse = await ConnectAsync(edge, null);
        await PublishAsync(edge, 0, 3, cts.Token);
        Assert.Equal(["e0", "e1", "e2"], (await sse.ReadEventsAsync(3, Wait)).Select(e => e.Data));
    }

    private static async Task<long> MalformedCountAsync(EdgeTestHost edge, CancellationToken cancellationToken)
    {
        using var client = edge.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("_edge/metrics.json", cancellationToken));
        var counters = document.RootElement.TryGetProperty("counters", out var nested) ? nested : document.RootElement;
        return counters.GetProperty("recordsMalformed").GetInt64();
    }

    private static async Task<SseTestClient> ConnectAsync(EdgeTestHost edge, string? lastEventId)
    {
        var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders", lastEventId);
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);

        // The hello and the initial cursor arrive first: the connection is then registered.
        var hello = await client.ReadFrameAsync(Wait);
        Assert.False(hello.IsEvent, "an event arrived before the hello: " + hello.Raw);
        return client;
    }

    private static async Task PublishAsync(EdgeTestHost edge, int first, int count, CancellationToken cancellationToken)
    {
        using var client = edge.CreateClient();
        using var response = await PostAsync(client, first, count, cancellationToken);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, int first, int count, CancellationToken cancellationToken)
    {
        var envelopes = Enumerable.Range(first, count).Select(i => new { channel = "orders", @event = "order", data = "e" + i });
        using var request = new HttpRequestMessage(HttpMethod.Post, "_edge/publish")
        {
            Content = new StringContent(JsonSerializer.Serialize(envelopes), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", PublishKey);
        return await client.SendAsync(request, cancellationToken);
    }
}
