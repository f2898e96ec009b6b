using System.Collections.Concurrent;
using System.Diagnostics;
using Edge.Brokers.Kafka.Tests.TestSupport;
using Xunit;
using static Edge.Brokers.Kafka.Tests.TestSupport.FeedReader;

namespace Edge.Brokers.Kafka.Tests;

/// <summary>
/// Outages injected into a private librdkafka mock cluster (always available in-process, whichever
/// cluster the other tests use): brokers set down and up while the edge publishes and reads.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Kafka")]
public sealed class KafkaOutageTests
{
    [Fact]
    public async Task Publish_WhileAllBrokersDown_ThrowsBrokerUnavailableWithinThePublishTimeout_AndRecovers()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var mock = new LibRdKafkaMock(brokers: 1);
        var topic = KafkaFixture.NewTopicName();
        mock.CreateTopic(topic, 2);
        await using var broker = KafkaFixture.CreateBroker(mock.BootstrapServers, topic, o => o.PublishTimeout = TimeSpan.FromSeconds(2));
        await broker.OpenAsync(cts.Token);
        await broker.PublishAsync([Message("orders", "before")], cts.Token);

        mock.SetAllBrokersDown();
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<BrokerUnavailableException>(() => broker.PublishAsync([Message("orders", "during")], cts.Token).WaitAsync(TimeSpan.FromSeconds(30), cts.Token));
        var failedAfter = clock.Elapsed;
        while (broker.Health.IsAvailable)
        {
            await Task.Delay(100, cts.Token);
        }

        mock.SetAllBrokersUp();
        PublishReceipt? receipt = null;
        while (receipt is null)
        {
            try
            {
                receipt = await broker.PublishAsync([Message("orders", "after")], cts.Token);
            }
            catch (BrokerUnavailableException)
            {
                await Task.Delay(200, cts.Token);
            }
        }

        while (!broker.Health.IsAvailable)
        {
            await Task.Delay(100, cts.Token);
        }

        Assert.True(failedAfter < TimeSpan.FromSeconds(9), $"the publish failed only after {failedAfter}");
        Assert.NotNull(receipt.Positions[0]);
    }

    [Fact]
    public async Task Open_WhileAllBrokersDown_ThrowsBrokerUnavailable_AndDisposeStaysPrompt()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var mock = new LibRdKafkaMock(brokers: 1);
        var topic = KafkaFixture.NewTopicName();
        mock.CreateTopic(topic, 2);
        await using var running = KafkaFixture.CreateBroker(mock.BootstrapServers, topic, o => o.PublishTimeout = TimeSpan.FromSeconds(2));
        await running.OpenAsync(cts.Token);
        var feed = running.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var waiting = feed.MoveNextAsync().AsTask();
        await running.PublishAsync([Message("orders", "x")], cts.Token);
        Assert.True(await waiting.WaitAsync(ReadTimeout, cts.Token));

        mock.SetAllBrokersDown();
        var starting = KafkaFixture.CreateBroker(mock.BootstrapServers, topic, o => o.RequestTimeout = TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<BrokerUnavailableException>(() => starting.OpenAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(20), cts.Token));
        var openFailedAfter = clock.Elapsed;

        clock.Restart();
        await starting.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20), cts.Token);
        await feed.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20), cts.Token);
        await running.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20), cts.Token);
        var disposedAfter = clock.Elapsed;

        Assert.True(openFailedAfter < TimeSpan.FromSeconds(10), $"open failed only after {openFailedAfter}");
        Assert.True(disposedAfter < TimeSpan.FromSeconds(15), $"disposing took {disposedAfter}");
    }

    [Fact]
    public async Task FetchErrorsRepeatedAtTheFeedPosition_SkipNoRecord()
    {
        const short fetchApiKey = 1;
        const int unknownServerError = -1;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var mock = new LibRdKafkaMock(brokers: 1);
        var topic = KafkaFixture.NewTopicName();
        mock.CreateTopic(topic, 1);
        await using var broker = KafkaFixture.CreateBroker(mock.BootstrapServers, topic);
        await broker.OpenAsync(cts.Token);
        using var readCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var feed = broker.SubscribeAsync(readCts.Token).GetAsyncEnumerator(readCts.Token);
        var waiting = feed.MoveNextAsync().AsTask();
        await broker.PublishAsync([Message("orders", "before", "before")], cts.Token);
        Assert.True(await waiting.WaitAsync(ReadTimeout, cts.Token));

        // librdkafka reports a failed fetch at the position it fetches from: the next record's.
        mock.PushRequestErrors(fetchApiKey, unknownServerError, count: 8);
        await broker.PublishAsync([Message("orders", "a", "a"), Message("orders", "b", "b"), Message("orders", "c", "c")], cts.Token);

        var after = new List<string?>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        Task<bool>? next = null;
        while (after.Count < 3 && DateTime.UtcNow < deadline)
        {
            next ??= feed.MoveNextAsync().AsTask();
            if (await Task.WhenAny(next, Task.Delay(200, cts.Token)) != next)
            {
                continue;
            }

            Assert.True(await next, "the feed ended");
            next = null;
            after.Add(feed.Current.MessageId);
        }

        await readCts.CancelAsync();
        if (next is not null)
        {
            await Record.ExceptionAsync(() => next.WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None));
        }

        await feed.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        Assert.Equal(["a", "b", "c"], after);
    }

    [Fact]
    public async Task BrokersDownAndUp_DuringSteadyPublish_EveryAcknowledgedMessageIsYieldedExactlyOnce()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        using var mock = new LibRdKafkaMock(brokers: 3);
        var topic = KafkaFixture.NewTopicName();
        mock.CreateTopic(topic, 4);
        await using var publisher = KafkaFixture.CreateBroker(mock.BootstrapServers, topic, o => o.PublishTimeout = TimeSpan.FromSeconds(20));
        await using var reader = KafkaFixture.CreateBroker(mock.BootstrapServers, topic);
        await publisher.OpenAsync(cts.Token);
        await reader.OpenAsync(cts.Token);

        var received = new ConcurrentQueue<ReceivedRecord>();
        using var readCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var reading = Task.Run(async () =>
        {
            await foreach (var record in reader.SubscribeAsync(readCts.Token))
            {
                received.Enqueue(ReceivedRecord.From(record));
            }
        });

        var acknowledged = new ConcurrentQueue<string>();
        var failed = 0;
        using var publishCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var channels = new[] { "orders", "alerts", "user:1", "user:2", "chat.a", "chat.b" };
        var publishing = Enumerable.Range(0, 3).Select(worker => Task.Run(async () =>
        {
            for (var n = 0; !publishCts.IsCancellationRequested; n++)
            {
                var batch = Enumerable.Range(0, 5).Select(i => Message(channels[(n + i + worker) % channels.Length], $"w{worker}-{n}-{i}", $"w{worker}-{n}-{i}")).ToList();
                try
                {
                    await publisher.PublishAsync(batch, cts.Token);
                    foreach (var message in batch)
                    {
                        acknowledged.Enqueue(message.MessageId);
                    }
                }
                catch (BrokerUnavailableException)
                {
                    Interlocked.Increment(ref failed);
                    await Task.Delay(100, cts.Token);
                }
            }
        })).ToList();

        await Task.Delay(1500, cts.Token);
        var beforeOutage = acknowledged.Count;
        mock.SetAllBrokersDown();
        await Task.Delay(3000, cts.Token);
        mock.SetAllBrokersUp();
        await Task.Delay(2500, cts.Token);
        await publishCts.CancelAsync();
        await Task.WhenAll(publishing).WaitAsync(TimeSpan.FromSeconds(40), cts.Token);
        var afterOutage = acknowledged.Count - beforeOutage;

        var expected = acknowledged.ToHashSet();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!expected.IsSubsetOf(received.Select(r => r.MessageId!)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, cts.Token);
        }

        await Task.Delay(1000, cts.Token);
        await readCts.CancelAsync();
        await Record.ExceptionAsync(() => reading.WaitAsync(TimeSpan.FromSeconds(10)));

        var records = received.ToList();
        Assert.True(beforeOutage > 0 && afterOutage > 0, $"published {beforeOutage} before and {afterOutage} after the outage");
        Assert.Empty(expected.Except(records.Select(r => r.MessageId!)));
        Assert.Equal(records.Count, records.Select(r => r.MessageId).Distinct().Count());
        Assert.Equal(records.Count, records.Select(r => (r.Partition, r.Offset)).Distinct().Count());
        foreach (var partition in records.GroupBy(r => r.Partition))
        {
            var offsets = partition.Select(r => r.Offset).ToList();
            Assert.Equal(offsets.Order(), offsets);
        }
    }
}
