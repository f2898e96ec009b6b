using System.Diagnostics;
using System.Text;
using Edge.Brokers.RabbitMq.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Edge.Brokers.RabbitMq.Tests;

/// <summary>What the RabbitMQ broker does beyond the shared contract: outages, topology, epochs, look-back.</summary>
[Collection(RabbitMqCollection.Name)]
[Trait("Category", "RabbitMq")]
public sealed class RabbitMqBrokerTests(RabbitMqFixture rabbit, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static string NewStream() => "edge-test-" + Guid.NewGuid().ToString("N")[..12];

    private static BrokerMessage Message(string channel, string text, string? id = null)
    {
        id ??= Guid.NewGuid().ToString("N");
        return new BrokerMessage(channel, id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","channel":"{{channel}}","event":"message","data":"{{text}}"}"""));
    }

    [Fact]
    public async Task BrokerRestart_DuringSteadyPublish_EveryConfirmedMessageIsYieldedOnceInOrder()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var reader = rabbit.CreateBroker(stream);
        await using var publisher = rabbit.CreateBroker(stream);
        await reader.OpenAsync(cts.Token);
        await publisher.OpenAsync(cts.Token);

        var received = new List<(long Offset, string? Id)>();
        var receivedLock = new object();
        using var feedCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var feed = Task.Run(async () =>
        {
            await foreach (var record in reader.SubscribeAsync(feedCts.Token))
            {
                lock (receivedLock)
                {
                    received.Add((record.Offset, record.MessageId));
                }
            }
        });

        var confirmed = new List<string>();
        var failed = 0;
        var healthDuringOutage = (BrokerHealth?)null;
        using var publishing = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var publish = Task.Run(async () =>
        {
            for (var i = 0; !publishing.IsCancellationRequested; i++)
            {
                var id = "m" + i.ToString("D6");
                try
                {
                    await publisher.PublishAsync([Message("orders", "n" + i, id)], cts.Token);
                    confirmed.Add(id);
                }
                catch (BrokerUnavailableException)
                {
                    failed++;
                    await Task.Delay(20, cts.Token);
                }
            }
        });

        await Task.Delay(1500, cts.Token);
        await rabbit.StopAppAsync(cts.Token);
        await Task.Delay(1000, cts.Token);
        healthDuringOutage = reader.Health;
        await Task.Delay(1000, cts.Token);
        await rabbit.StartAppAsync(cts.Token);
        await WaitUntilAsync(() => Volatile.Read(ref failed) > 0 && confirmed.Count > 0 && reader.Health.IsAvailable, cts.Token);
        await Task.Delay(2000, cts.Token);
        await publishing.CancelAsync();
        await publish.WaitAsync(Timeout, cts.Token);

        var expected = confirmed.ToHashSet();
        await WaitUntilAsync(() => { lock (receivedLock) { return expected.IsSubsetOf(received.Select(r => r.Id!)); } }, cts.Token);
        await Task.Delay(500, cts.Token);
        await feedCts.CancelAsync();
        await Record.ExceptionAsync(() => feed.WaitAsync(Timeout));

        output.WriteLine($"confirmed {confirmed.Count}, failed during the outage {failed}, received {received.Count}");
        Assert.False(healthDuringOutage!.IsAvailable);
        Assert.True(failed > 0, "no publish failed while the node was stopped");
        var offsets = received.Select(r => r.Offset).ToList();
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(offsets.Count, offsets.Distinct().Count());
        var ids = received.Select(r => r.Id!).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.Subset(ids.ToHashSet(), expected);
    }

    [Fact]
    public async Task ConnectionsClosedByTheBroker_TheFeedResumesAfterItsLastRecord_WithoutLossOrRepeat()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var broker = rabbit.CreateBroker(stream);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var received = new List<(long Offset, string? Id)>();

        for (var round = 0; round < 3; round++)
        {
            var ids = Enumerable.Range(round * 20, 20).Select(i => "k" + i.ToString("D3")).ToList();
            await WaitUntilAsync(async () =>
            {
                try
                {
                    await broker.PublishAsync([.. ids.Select(id => Message("orders", id, id))], cts.Token);
                    return true;
                }
                catch (BrokerUnavailableException)
                {
                    return false;
                }
            }, cts.Token);

            while (received.Count < (round + 1) * 20)
            {
                Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
                received.Add((feed.Current.Offset, feed.Current.MessageId));
            }

            await rabbit.CloseAllConnectionsAsync(cts.Token);
        }

        Assert.Equal(Enumerable.Range(0, 60).Select(i => "k" + i.ToString("D3")), received.Select(r => r.Id));
        Assert.Equal(received.Select(r => r.Offset).Order(), received.Select(r => r.Offset));
        Assert.Equal(60, received.Select(r => r.Offset).Distinct().Count());
    }

    [Fact]
    public async Task PublishDuringOutage_ThrowsBrokerUnavailableQuickly_AndHealthReportsIt()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var broker = rabbit.CreateBroker(stream);
        await broker.OpenAsync(cts.Token);
        await broker.PublishAsync([Message("orders", "before")], cts.Token);

        await rabbit.StopAppAsync(cts.Token);
        try
        {
            var watch = Stopwatch.StartNew();
            await Assert.ThrowsAsync<BrokerUnavailableException>(() => broker.PublishAsync([Message("orders", "during")], cts.Token));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(6), $"publishing took {watch.Elapsed} to fail");
            watch.Restart();
            await Assert.ThrowsAsync<BrokerUnavailableException>(() => broker.PublishAsync([Message("orders", "during-again")], cts.Token));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(6), $"publishing again took {watch.Elapsed} to fail");
            Assert.False(broker.Health.IsAvailable);
            Assert.DoesNotContain("guest:guest", broker.Health.Reason, StringComparison.Ordinal);
        }
        finally
        {
            await rabbit.StartAppAsync(cts.Token);
        }

        await WaitUntilAsync(async () =>
        {
            try
            {
                await broker.PublishAsync([Message("orders", "after")], cts.Token);
                return true;
            }
            catch (BrokerUnavailableException)
            {
                return false;
            }
        }, cts.Token);
        Assert.True(broker.Health.IsAvailable);
    }

    [Fact]
    public async Task PublishWhileTheBrokerBlocksPublishers_FailsWithBrokerUnavailable_NeverHangs()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var broker = rabbit.CreateBroker(stream, o => o.PublishTimeout = TimeSpan.FromSeconds(2));
        await broker.OpenAsync(cts.Token);
        await broker.PublishAsync([Message("orders", "before")], cts.Token);

        await rabbit.SetMemoryAlarmAsync(on: true, cts.Token);
        try
        {
            // The node raises the alarm within a moment; from then on a publish waits at most PublishTimeout.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            var watch = Stopwatch.StartNew();
            while (true)
            {
                Assert.True(DateTime.UtcNow < deadline, "publishing was never blocked");
                watch.Restart();
                try
                {
                    await broker.PublishAsync([Message("orders", "blocked-1")], cts.Token);
                    await Task.Delay(100, cts.Token);
                }
                catch (BrokerUnavailableException)
                {
                    break;
                }
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the first blocked publish took {watch.Elapsed}");
            watch.Restart();
            await Assert.ThrowsAsync<BrokerUnavailableException>(() => broker.PublishAsync([Message("orders", "blocked-2")], cts.Token));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"the second blocked publish took {watch.Elapsed}");
        }
        finally
        {
            await rabbit.SetMemoryAlarmAsync(on: false, CancellationToken.None);
        }

        await WaitUntilAsync(async () =>
        {
            try
            {
                await broker.PublishAsync([Message("orders", "after")], cts.Token);
                return true;
            }
            catch (BrokerUnavailableException)
            {
                return false;
            }
        }, cts.Token);
    }

    [Fact]
    public async Task ExchangeBoundToTheStream_DeliversABrokerNativePublishersMessages()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = rabbit.CreateBroker(stream);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        var body = Encoding.UTF8.GetBytes("""{"channel":"orders","event":"shipped","data":{"order":12345}}""");
        await rabbit.PublishRawAsync(stream, body, "native-1", exchange: stream + ".x", cancellationToken: cts.Token);

        Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
        Assert.Equal(body, feed.Current.Body.ToArray());
        Assert.Equal("native-1", feed.Current.MessageId);
        Assert.Equal(0, feed.Current.Partition);
    }

    [Fact]
    public async Task MalformedAndOversizedBodies_PassThrough_AndTheFeedContinues()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = rabbit.CreateBroker(stream);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        var oversized = new byte[3 * 1024 * 1024];
        Random.Shared.NextBytes(oversized);
        byte[][] bodies =
        [
            Encoding.UTF8.GetBytes("{not json"),
            [],
            oversized,
            Encoding.UTF8.GetBytes("""{"event":"no channel"}"""),
        ];
        foreach (var body in bodies)
        {
            await rabbit.PublishRawAsync(stream, body, cancellationToken: cts.Token);
        }

        await broker.PublishAsync([Message("orders", "valid-after")], cts.Token);

        foreach (var body in bodies)
        {
            Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
            Assert.Equal(body, feed.Current.Body.ToArray());
        }

        Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
        Assert.Contains("valid-after", Encoding.UTF8.GetString(feed.Current.Body.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Epoch_ChangesWhenTheStreamIsDeletedAndRecreated()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        string first;
        await using (var broker = rabbit.CreateBroker(stream))
        {
            first = (await broker.OpenAsync(cts.Token)).Epoch;
            await broker.PublishAsync([Message("orders", "a"), Message("orders", "b")], cts.Token);
        }

        await rabbit.DeleteStreamAsync(stream, cts.Token);

        await using var again = rabbit.CreateBroker(stream);
        var second = await again.OpenAsync(cts.Token);
        Assert.NotEqual(first, second.Epoch);
        Assert.Equal(0, second.NextOffsets[0]);

        await using var third = rabbit.CreateBroker(stream);
        Assert.Equal(second.Epoch, (await third.OpenAsync(cts.Token)).Epoch);
    }

    [Fact]
    public async Task EdgesStartingTogether_OnAMissingStream_AgreeOnOneEpoch()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        var brokers = Enumerable.Range(0, 5).Select(_ => rabbit.CreateBroker(stream)).ToList();
        try
        {
            var snapshots = await Task.WhenAll(brokers.Select(b => b.OpenAsync(cts.Token))).WaitAsync(Timeout, cts.Token);
            Assert.Single(snapshots.Select(s => s.Epoch).Distinct());
            Assert.All(snapshots, s => Assert.Equal(0, s.NextOffsets[0]));
        }
        finally
        {
            foreach (var broker in brokers)
            {
                await broker.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Dispose_WhileTheFeedWaits_EndsTheFeedPromptly()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        var broker = rabbit.CreateBroker(stream);
        await broker.OpenAsync(cts.Token);
        var reading = Task.Run(async () =>
        {
            await foreach (var unused in broker.SubscribeAsync(cts.Token))
            {
            }
        });
        await Task.Delay(300, cts.Token);

        await broker.DisposeAsync();

        var ex = await Record.ExceptionAsync(() => reading.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(ex is TimeoutException, "the feed kept running after the broker was disposed");
    }

    [Fact]
    public async Task Epoch_ChangesWhenTheStreamWasRecreatedBehindTheEdgesBack()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        string first;
        await using (var broker = rabbit.CreateBroker(stream))
        {
            first = (await broker.OpenAsync(cts.Token)).Epoch;
            await broker.PublishAsync([.. Enumerable.Range(0, 5).Select(i => Message("orders", "x" + i))], cts.Token);
        }

        // Reopening records the head it saw (5); an operator then re-creates the stream by hand.
        await using (var broker = rabbit.CreateBroker(stream))
        {
            Assert.Equal(first, (await broker.OpenAsync(cts.Token)).Epoch);
        }

        await rabbit.DeleteStreamAsync(stream, cts.Token);
        await DeclareStreamByHandAsync(stream, cts.Token);
        await rabbit.PublishRawAsync(stream, Encoding.UTF8.GetBytes("{}"), cancellationToken: cts.Token);

        await using var after = rabbit.CreateBroker(stream, o => o.DeclareStream = false);
        var snapshot = await after.OpenAsync(cts.Token);
        Assert.NotEqual(first, snapshot.Epoch);
        Assert.Equal(1, snapshot.NextOffsets[0]);
    }

    [Fact]
    public async Task LiveFeed_WhenTheStreamIsDeleted_StopsWithBrokerUnavailable_AndReopenGivesANewEpoch()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = rabbit.CreateBroker(stream);
        var before = await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await broker.PublishAsync([Message("orders", "one")], cts.Token);
        Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));

        await rabbit.DeleteStreamAsync(stream, cts.Token);

        await Assert.ThrowsAsync<BrokerUnavailableException>(async () => await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
        Assert.False(broker.Health.IsAvailable);
        var after = await broker.OpenAsync(cts.Token);
        Assert.NotEqual(before.Epoch, after.Epoch);
        Assert.True(broker.Health.IsAvailable);
    }

    [Fact]
    public async Task LookBackCount_StartsTheFeedThatManyOffsetsBeforeTheHead_AndTheSnapshotSaysSo()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        await using (var seed = rabbit.CreateBroker(stream))
        {
            await seed.OpenAsync(cts.Token);
            await seed.PublishAsync([.. Enumerable.Range(0, 10).Select(i => Message("orders", "s" + i, "s" + i))], cts.Token);
        }

        await using var broker = rabbit.CreateBroker(stream, o => o.LookBack.Count = 4);
        var snapshot = await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var received = new List<(long Offset, string? Id)>();
        for (var i = 0; i < 4; i++)
        {
            Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
            received.Add((feed.Current.Offset, feed.Current.MessageId));
        }

        Assert.Equal(["s6", "s7", "s8", "s9"], received.Select(r => r.Id));
        Assert.Equal(snapshot.NextOffsets[0], received[0].Offset);
    }

    [Fact]
    public async Task LookBackAge_StartsTheFeedAtRecordsAppendedWithinThatAge()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        await using (var seed = rabbit.CreateBroker(stream))
        {
            await seed.OpenAsync(cts.Token);
            await seed.PublishAsync([.. Enumerable.Range(0, 3).Select(i => Message("orders", "a" + i, "a" + i))], cts.Token);
        }

        await using var broker = rabbit.CreateBroker(stream, o => o.LookBack.Age = TimeSpan.FromHours(1));
        var snapshot = await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var ids = new List<string?>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
            ids.Add(feed.Current.MessageId);
        }

        Assert.Equal(["a0", "a1", "a2"], ids);
        Assert.Equal(0, snapshot.NextOffsets[0]);
    }

    [Fact]
    public async Task ReadAsync_AfterAConnectionLoss_StillServesTheRange()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var broker = rabbit.CreateBroker(stream);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await broker.PublishAsync([.. Enumerable.Range(0, 30).Select(i => Message("orders", "r" + i, "r" + i))], cts.Token);
        var offsets = new List<long>();
        for (var i = 0; i < 30; i++)
        {
            Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
            offsets.Add(feed.Current.Offset);
        }

        await rabbit.RestartAppAsync(TimeSpan.FromMilliseconds(500), cts.Token);

        var read = new List<string?>();
        await WaitUntilAsync(async () =>
        {
            read.Clear();
            try
            {
                await foreach (var record in broker.ReadAsync(0, offsets[10], offsets[20], cts.Token))
                {
                    read.Add(record.MessageId);
                }

                return true;
            }
            catch (BrokerUnavailableException)
            {
                return false;
            }
        }, cts.Token);

        Assert.Equal(Enumerable.Range(10, 10).Select(i => "r" + i), read);
        Assert.True(await broker.GetEarliestOffsetAsync(0, cts.Token) <= offsets[0]);
    }

    [Fact]
    public async Task ReadBacks_AreBoundedByReplayConcurrency()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = rabbit.CreateBroker(stream, o => o.ReplayConcurrency = 1);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await broker.PublishAsync([.. Enumerable.Range(0, 10).Select(i => Message("orders", "c" + i, "c" + i))], cts.Token);
        var offsets = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
            offsets.Add(feed.Current.Offset);
        }

        // The first read-back holds the only slot while its caller has not finished reading it.
        await using var first = broker.ReadAsync(0, offsets[0], offsets[9] + 1, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await first.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
        var second = Task.Run(async () =>
        {
            var ids = new List<string?>();
            await foreach (var record in broker.ReadAsync(0, offsets[5], offsets[7], cts.Token))
            {
                ids.Add(record.MessageId);
            }

            return ids;
        });

        await Task.Delay(500, cts.Token);
        Assert.False(second.IsCompleted, "a second read-back ran beside the first with ReplayConcurrency = 1");
        while (await first.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token))
        {
        }

        Assert.Equal(["c5", "c6"], await second.WaitAsync(Timeout, cts.Token));
    }

    [Fact]
    public async Task Throughput_PublishWithConfirmsAndConsume()
    {
        var stream = NewStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        const int total = 40_000;
        const int batch = 100;
        const int publishers = 4;
        var messages = Enumerable.Range(0, total).Select(i => Message("orders", "t" + i)).ToList();

        // Publishing alone: several concurrent callers, as the publish API has under load.
        TimeSpan published;
        await using (var broker = rabbit.CreateBroker(stream))
        {
            await broker.OpenAsync(cts.Token);
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, publishers).Select(p => Task.Run(async () =>
            {
                for (var i = p * batch; i < total; i += batch * publishers)
                {
                    await broker.PublishAsync(messages.GetRange(i, batch), cts.Token);
                }
            }))).WaitAsync(Timeout, cts.Token);
            published = watch.Elapsed;
        }

        // Consuming alone: a new instance whose look-back covers everything.
        await using var reader = rabbit.CreateBroker(stream, o => o.LookBack.Count = total * 2);
        await reader.OpenAsync(cts.Token);
        await using var feed = reader.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var consumeWatch = Stopwatch.StartNew();
        var bytes = 0L;
        for (var i = 0; i < total; i++)
        {
            Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cts.Token));
            bytes += feed.Current.Body.Length;
        }

        var consumed = consumeWatch.Elapsed;
        output.WriteLine($"{total} messages of ~{bytes / total} bytes: published with confirms by {publishers} callers in batches of {batch} in {published.TotalSeconds:0.00} s ({total / published.TotalSeconds:0} msg/s); consumed in {consumed.TotalSeconds:0.00} s ({total / consumed.TotalSeconds:0} msg/s)");
    }

    private async Task DeclareStreamByHandAsync(string stream, CancellationToken cancellationToken)
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(rabbit.Uri) };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(stream, true, false, false, new Dictionary<string, object?> { ["x-queue-type"] = "stream" }, cancellationToken: cancellationToken);
    }

    private static Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken) =>
        WaitUntilAsync(() => Task.FromResult(condition()), cancellationToken);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition was not met in time");
            await Task.Delay(100, cancellationToken);
        }
    }
}
