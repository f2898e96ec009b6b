using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Edge.Brokers.Kafka.Internal;
using Edge.Brokers.Kafka.Tests.TestSupport;
using Edge.Testing;
using Xunit;

namespace Edge.Brokers.Kafka.Tests.EndToEnd;

/// <summary>Real edge hosts (Kestrel on loopback) reading a Kafka topic, with SSE clients and the publish API.</summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Kafka")]
public sealed class KafkaEdgeEndToEndTests
{
    private const string PublishKey = "kafka-e2e-key";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private readonly KafkaFixture _kafka;

    public KafkaEdgeEndToEndTests(KafkaFixture kafka)
    {
        _kafka = kafka;
    }

    [Fact]
    public async Task ConnectionOnChannelsOfThreePartitions_ResumesExactlyOnAnotherInstance_AfterAForcedDisconnect()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var topic = KafkaFixture.NewTopicName("edge-e2e");
        await _kafka.CreateTopicAsync(topic, 6);
        var channels = ChannelsOnDistinctPartitions(3, 6);
        await using var a = await StartEdgeAsync(_kafka.BootstrapServers, topic, cts.Token);
        await using var b = await StartEdgeAsync(_kafka.BootstrapServers, topic, cts.Token);
        var path = "/events?channels=" + string.Join(',', channels);

        // A watcher on b shows when b has read what is published: the host answers a cursor ahead
        // of its own position with a gap ("cursor-ahead"), so the resume waits until b caught up.
        await using var watcher = await SseTestClient.ConnectAsync(b.BaseAddress, path, cancellationToken: cts.Token);
        var first = await SseTestClient.ConnectAsync(a.BaseAddress, path, cancellationToken: cts.Token);
        await PublishAsync(a, channels, 0, 12, cts.Token);
        var seen = await first.ReadEventsAsync(12, Wait);
        var cursor = first.LastEventId!;
        await first.DisposeAsync();

        await PublishAsync(a, channels, 12, 12, cts.Token);
        AssertPerChannelSequence(channels, await watcher.ReadEventsAsync(24, Wait), 0, 24);
        await using var resumed = await SseTestClient.ConnectAsync(b.BaseAddress, path, lastEventId: cursor, cancellationToken: cts.Token);
        var missed = await resumed.ReadEventsAsync(12, Wait);
        await PublishAsync(b, channels, 24, 3, cts.Token);
        var live = await resumed.ReadEventsAsync(3, Wait);

        Assert.Equal(3, cursor[(cursor.IndexOf('-', StringComparison.Ordinal) + 1)..].Split('_').Length);
        AssertPerChannelSequence(channels, seen, 0, 12);
        AssertPerChannelSequence(channels, missed, 12, 12);
        AssertPerChannelSequence(channels, live, 24, 3);
        Assert.True(await resumed.NoEventWithinAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task EdgeRestart_ClientsResumeFromTheirIds_ReadingBackFromKafka()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var topic = KafkaFixture.NewTopicName("edge-e2e");
        await _kafka.CreateTopicAsync(topic, 4);
        var channels = ChannelsOnDistinctPartitions(2, 4);
        var both = "/events?channels=" + string.Join(',', channels);
        var one = "/events?channels=" + channels[1];
        string bothCursor, oneCursor;

        await using (var edge = await StartEdgeAsync(_kafka.BootstrapServers, topic, cts.Token))
        {
            await using var x = await SseTestClient.ConnectAsync(edge.BaseAddress, both, cancellationToken: cts.Token);
            await using var y = await SseTestClient.ConnectAsync(edge.BaseAddress, one, cancellationToken: cts.Token);
            await PublishAsync(edge, channels, 0, 6, cts.Token);
            AssertPerChannelSequence(channels, await x.ReadEventsAsync(6, Wait), 0, 6);
            Assert.Equal(["1", "3", "5"], (await y.ReadEventsAsync(3, Wait)).Select(e => e.Data));
            bothCursor = x.LastEventId!;
            oneCursor = y.LastEventId!;
        }

        // While no edge runs, a broker-native publisher (murmur2 on the channel key) keeps writing.
        for (var i = 6; i < 10; i++)
        {
            var channel = channels[i % channels.Count];
            await _kafka.PublishRawAsync(topic, channel, Encoding.UTF8.GetBytes($$"""{"channel":"{{channel}}","event":"n","data":"{{i}}"}"""), cts.Token);
        }

        await using var restarted = await StartEdgeAsync(_kafka.BootstrapServers, topic, cts.Token);
        await using var x2 = await SseTestClient.ConnectAsync(restarted.BaseAddress, both, lastEventId: bothCursor, cancellationToken: cts.Token);
        await using var y2 = await SseTestClient.ConnectAsync(restarted.BaseAddress, one, lastEventId: oneCursor, cancellationToken: cts.Token);
        var xMissed = await x2.ReadEventsAsync(4, Wait);
        var yMissed = await y2.ReadEventsAsync(2, Wait);
        await PublishAsync(restarted, channels, 10, 2, cts.Token);

        AssertPerChannelSequence(channels, xMissed, 6, 4);
        Assert.Equal(["7", "9"], yMissed.Select(e => e.Data));
        AssertPerChannelSequence(channels, await x2.ReadEventsAsync(2, Wait), 10, 2);
        Assert.Equal("11", (await y2.ReadEventAsync(Wait)).Data);
        Assert.True(await x2.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
        Assert.True(await y2.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task BrokersDownAndUp_DuringSteadyPublish_ClientsGetEveryAcceptedEventExactlyOnce()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        using var mock = new LibRdKafkaMock(brokers: 3);
        var topic = KafkaFixture.NewTopicName("edge-e2e");
        mock.CreateTopic(topic, 4);
        var channels = ChannelsOnDistinctPartitions(4, 4);
        await using var publisher = await StartEdgeAsync(mock.BootstrapServers, topic, cts.Token, ("Edge:Broker:Kafka:PublishTimeout", "00:00:08"));
        await using var reader = await StartEdgeAsync(mock.BootstrapServers, topic, cts.Token);
        await using var client = await SseTestClient.ConnectAsync(reader.BaseAddress, "/events?channels=" + string.Join(',', channels), cancellationToken: cts.Token);
        await client.ReadFrameAsync(Wait);

        var received = new ConcurrentQueue<string>();
        using var readCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var reading = Task.Run(async () =>
        {
            while (!readCts.IsCancellationRequested)
            {
                try
                {
                    received.Enqueue((await client.ReadEventAsync(TimeSpan.FromMilliseconds(500))).Data!);
                }
                catch (TimeoutException)
                {
                }
                catch (EndOfStreamException)
                {
                    return;
                }
            }
        });

        var accepted = new ConcurrentQueue<string>();
        var refused = 0;
        using var publishCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var publishing = Enumerable.Range(0, 2).Select(worker => Task.Run(async () =>
        {
            using var http = publisher.CreateClient(TimeSpan.FromSeconds(30));
            for (var n = 0; !publishCts.IsCancellationRequested; n++)
            {
                var data = $"w{worker}-{n.ToString("D5", CultureInfo.InvariantCulture)}";
                var channel = channels[(n + worker) % channels.Count];
                using var request = new HttpRequestMessage(HttpMethod.Post, "_edge/publish")
                {
                    Content = new StringContent($$"""{"channel":"{{channel}}","event":"n","data":"{{data}}"}""", Encoding.UTF8, "application/json"),
                };
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", PublishKey);
                using var response = await http.SendAsync(request, cts.Token);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    accepted.Enqueue(data);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    Assert.NotNull(response.Headers.RetryAfter);
                    Interlocked.Increment(ref refused);
                    await Task.Delay(200, cts.Token);
                }
            }
        })).ToList();

        await Task.Delay(1500, cts.Token);
        var beforeOutage = accepted.Count;
        mock.SetAllBrokersDown();
        var sawNotReady = false;
        var outageEnds = DateTime.UtcNow + TimeSpan.FromSeconds(4);
        using (var http = reader.CreateClient())
        {
            while (DateTime.UtcNow < outageEnds)
            {
                using var ready = await http.GetAsync("_edge/ready", cts.Token);
                sawNotReady |= ready.StatusCode == HttpStatusCode.ServiceUnavailable;
                await Task.Delay(100, cts.Token);
            }
        }

        mock.SetAllBrokersUp();
        var upAt = accepted.Count;
        var recoveryDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (accepted.Count < upAt + 20 && DateTime.UtcNow < recoveryDeadline)
        {
            await Task.Delay(100, cts.Token);
        }

        await publishCts.CancelAsync();
        await Task.WhenAll(publishing).WaitAsync(TimeSpan.FromSeconds(40), cts.Token);
        var afterOutage = accepted.Count - upAt;

        var expected = accepted.ToHashSet();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!expected.IsSubsetOf(received) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, cts.Token);
        }

        await Task.Delay(1000, cts.Token);
        await readCts.CancelAsync();
        await reading.WaitAsync(TimeSpan.FromSeconds(10), cts.Token);

        var events = received.ToList();
        Assert.True(beforeOutage > 0 && afterOutage > 0, $"accepted {beforeOutage} before and {afterOutage} after the outage (brokers back for up to 20 s)");
        Assert.True(sawNotReady, "readiness never reported the outage");
        Assert.Empty(expected.Except(events));
        Assert.Equal(events.Count, events.Distinct().Count());
        foreach (var worker in events.GroupBy(d => d[..d.IndexOf('-', StringComparison.Ordinal)]))
        {
            // One worker publishes one event at a time; its events on one channel keep their order.
            foreach (var channel in worker.GroupBy(d => int.Parse(d[(d.IndexOf('-', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture) % channels.Count))
            {
                Assert.Equal(channel.Order(StringComparer.Ordinal), channel);
            }
        }
    }

    [Fact]
    public async Task LookBack_WarmsTheWindow_WithoutSendingOldEventsToLiveClients_AndServesResumesFromIt()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName("edge-e2e");
        await _kafka.CreateTopicAsync(topic, 1);
        for (var i = 0; i < 10; i++)
        {
            await _kafka.PublishRawAsync(topic, "orders", Encoding.UTF8.GetBytes($$"""{"channel":"orders","event":"n","data":"{{i}}"}"""), cts.Token);
        }

        // A cursor at offset 6 of partition 0, as a client of an earlier edge would hold it.
        await using var probe = _kafka.CreateBroker(topic);
        var epoch = (await probe.OpenAsync(cts.Token)).Epoch;
        await using var edge = await StartEdgeAsync(_kafka.BootstrapServers, topic, cts.Token, ("Edge:Broker:Kafka:LookBackRecords", "5"));
        await using var live = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders", cancellationToken: cts.Token);
        await using var resumed = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders", lastEventId: epoch + "-6", cancellationToken: cts.Token);
        using (await edge.PublishAsync("""{"channel":"orders","event":"n","data":"10"}""", PublishKey, cts.Token))
        {
        }

        Assert.Equal("10", (await live.ReadEventAsync(Wait)).Data);
        Assert.Equal(["6", "7", "8", "9", "10"], (await resumed.ReadEventsAsync(5, Wait)).Select(e => e.Data));
        Assert.True(await live.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
        Assert.True(await resumed.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task MalformedRecordsFromANativePublisher_AreSkippedAndCounted_AndValidOnesDelivered()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName("edge-e2e");
        await _kafka.CreateTopicAsync(topic, 3);
        await using var edge = await StartEdgeAsync(_kafka.BootstrapServers, topic, cts.Token);
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders", cancellationToken: cts.Token);
        await client.ReadFrameAsync(Wait);

        await Kcat.ProduceAsync(
            _kafka.BootstrapServers,
            topic,
            [
                ("orders", "not json at all"),
                ("orders", """{"channel":"orders","event":"n","data":"first"}"""),
                ("orders", """{"event":"n","data":"no channel"}"""),
                ("orders", """{"channel":"orders","event":"n","data":"second"}"""),
            ],
            "murmur2_random",
            cts.Token);
        await _kafka.PublishRawAsync(topic, "orders", null, cts.Token);
        using (await edge.PublishAsync("""{"channel":"orders","event":"n","data":"third"}""", PublishKey, cts.Token))
        {
        }

        var events = await client.ReadEventsAsync(3, Wait);
        using var http = edge.CreateClient();
        using var metrics = JsonDocument.Parse(await http.GetStringAsync("_edge/metrics.json", cts.Token));

        Assert.Equal(["first", "second", "third"], events.Select(e => e.Data));
        var counters = metrics.RootElement.TryGetProperty("counters", out var nested) ? nested : metrics.RootElement;
        Assert.Equal(3, counters.GetProperty("recordsMalformed").GetInt64());
        Assert.True(await client.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task PublisherCli_KafkaTarget_ScenariosReachTheirUsersAndSessions()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var topic = KafkaFixture.NewTopicName("edge-e2e");
        await _kafka.CreateTopicAsync(topic, 5);
        await using var edge = await StartEdgeAsync(_kafka.BootstrapServers, topic, cts.Token);
        await using var user = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders&userId=12345", cancellationToken: cts.Token);
        await using var otherUser = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders&userId=999", cancellationToken: cts.Token);
        await using var session = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?sessionId=tab-1", cancellationToken: cts.Token);
        await using var chat = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=chat.lobby", cancellationToken: cts.Token);
        string[] kafka = ["--bootstrap", _kafka.BootstrapServers, "--topic", topic, "--rate", "0"];

        // The CLI exactly as a user runs it (dotnet run --project src/Publisher.Samples -- kafka ...).
        Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["kafka", "orders", "--user", "12345", "--count", "3", .. kafka], cts.Token).WaitAsync(Wait, cts.Token));
        Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["kafka", "sync", "--session", "tab-1", "--count", "3", .. kafka], cts.Token).WaitAsync(Wait, cts.Token));
        Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["kafka", "chat", "--user", "ann", "--count", "2", .. kafka], cts.Token).WaitAsync(Wait, cts.Token));

        var orders = await user.ReadEventsAsync(5, Wait);
        Assert.Equal(["update", "notification", "update", "update", "notification"], orders.Select(e => e.Type));
        Assert.Equal("Your order #12345 has been shipped", JsonDocument.Parse(orders[4].Data!).RootElement.GetProperty("message").GetString());
        var sync = await session.ReadEventsAsync(6, Wait);
        Assert.Equal(["0", "50", "100"], sync.Where(e => e.Type == "syncProgress").Select(e => e.Data));
        Assert.Equal(["""<div class="chat-line"><b>ann</b> message 1 of 2</div>""", """<div class="chat-line"><b>ann</b> message 2 of 2</div>"""], (await chat.ReadEventsAsync(2, Wait)).Select(e => e.Data));
        Assert.True(await otherUser.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task ShippedKafkaConfiguration_StartsAnEdgeThatPublishesAndStreams()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName("edge-e2e");
        await _kafka.CreateTopicAsync(topic, 3);
        var configFile = Path.Combine(RepositoryRoot(), "config", "edge.kafka.json");
        await using var edge = await EdgeTestHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Edge:Broker:Kafka:BootstrapServers"] = _kafka.BootstrapServers,
                ["Edge:Broker:Kafka:Topic"] = topic,
            },
            cts.Token,
            configFile);
        await WaitReadyAsync(edge, cts.Token);
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders", cancellationToken: cts.Token);

        using var response = await edge.PublishAsync("""{"channel":"orders","event":"notification","data":{"message":"Order #12345 shipped"}}""", "dev-publish-key", cts.Token);
        var received = await client.ReadEventAsync(Wait);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("notification", received.Type);
        Assert.Equal("""{"message":"Order #12345 shipped"}""", received.Data);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Edge.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Edge.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task WaitReadyAsync(EdgeTestHost edge, CancellationToken cancellationToken)
    {
        using var http = edge.CreateClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var ready = await http.GetAsync("_edge/ready", cancellationToken);
            if (ready.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "the edge did not become ready: " + await ready.Content.ReadAsStringAsync(cancellationToken));
            await Task.Delay(100, cancellationToken);
        }
    }

    [Fact]
    [Trait("Category", "Operations")]
    public async Task EndStreams_ThroughTheAdminCallAndAsABrokerNativeControlMessage_EndsThemOnBothInstances()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var topic = KafkaFixture.NewTopicName("edge-end");
        await _kafka.CreateTopicAsync(topic, 3);
        await using var a = await StartEdgeAsync(_kafka.BootstrapServers, topic, cts.Token, ("Edge:Admin:ApiKeys:0", EndStreamsScenario.AdminKey));
        await using var b = await StartEdgeAsync(_kafka.BootstrapServers, topic, cts.Token, ("Edge:Admin:ApiKeys:0", EndStreamsScenario.AdminKey));

        await EndStreamsScenario.RunAsync(a, b, json => _kafka.PublishRawAsync(topic, "session:s1", Encoding.UTF8.GetBytes(json), cts.Token), PublishKey);
    }

    private static async Task<EdgeTestHost> StartEdgeAsync(string bootstrap, string topic, CancellationToken cancellationToken, params (string Key, string? Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Edge:Broker:Type"] = "Kafka",
            ["Edge:Broker:Kafka:BootstrapServers"] = bootstrap,
            ["Edge:Broker:Kafka:Topic"] = topic,
            ["Edge:Broker:Kafka:CreateTopic"] = "false",
            ["Edge:Broker:Kafka:MetadataRefreshInterval"] = "00:00:01",
            ["Edge:Broker:Kafka:RequestTimeout"] = "00:00:05",
            ["Edge:Publish:ApiKeys:0"] = PublishKey,
            ["Edge:Streams:events:Path"] = "/events",
            ["Edge:Shutdown:DrainTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        var edge = await EdgeTestHost.StartAsync(settings, cancellationToken);
        await WaitReadyAsync(edge, cancellationToken);
        return edge;
    }

    /// <summary>Publishes events <paramref name="from"/>.. with data "i" round-robin over the channels, in one request.</summary>
    private static async Task PublishAsync(EdgeTestHost edge, IReadOnlyList<string> channels, int from, int count, CancellationToken cancellationToken)
    {
        var body = "[" + string.Join(',', Enumerable.Range(from, count).Select(i => $$"""{"channel":"{{channels[i % channels.Count]}}","event":"n","data":"{{i}}"}""")) + "]";
        using var response = await edge.PublishAsync(body, PublishKey, cancellationToken);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        Assert.Equal(count, document.RootElement.GetProperty("ids").GetArrayLength());
    }

    /// <summary>Channels that live on pairwise different partitions under the default (murmur2) partitioner.</summary>
    private static List<string> ChannelsOnDistinctPartitions(int count, int partitions)
    {
        var chosen = new List<string>();
        var used = new HashSet<int>();
        for (var i = 0; chosen.Count < count; i++)
        {
            var channel = "room-" + i.ToString(CultureInfo.InvariantCulture);
            if (used.Add(KafkaPartitioning.Partition(KafkaKeyPartitioner.Murmur2, channel, partitions)))
            {
                chosen.Add(channel);
            }
        }

        return chosen;
    }

    /// <summary>Events <paramref name="from"/>..+<paramref name="count"/> arrived, each once, in order per channel.</summary>
    private static void AssertPerChannelSequence(IReadOnlyList<string> channels, IReadOnlyList<SseFrame> events, int from, int count)
    {
        var data = events.Select(e => int.Parse(e.Data!, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(from, count), data.Order());
        foreach (var channel in data.GroupBy(i => i % channels.Count))
        {
            Assert.Equal(channel.Order(), channel);
        }
    }
}
