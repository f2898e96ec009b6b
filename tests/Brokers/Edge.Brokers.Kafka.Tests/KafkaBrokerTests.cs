using System.Text;
using Edge.Brokers.Kafka.Tests.TestSupport;
using Xunit;
using static Edge.Brokers.Kafka.Tests.TestSupport.FeedReader;

namespace Edge.Brokers.Kafka.Tests;

/// <summary>Kafka-specific behaviour beyond the compliance suite, on the fixture's cluster.</summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Kafka")]
public sealed class KafkaBrokerTests
{
    private readonly KafkaFixture _kafka;

    public KafkaBrokerTests(KafkaFixture kafka)
    {
        _kafka = kafka;
    }

    [Fact]
    public async Task ChannelsSpreadOverPartitions_ArriveInPerChannelOrder()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 6);
        await using var broker = _kafka.CreateBroker(topic);
        var snapshot = await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.Equal(6, snapshot.PartitionCount);
        var channels = Enumerable.Range(0, 24).Select(i => "chan-" + i).ToArray();
        Assert.True(channels.Select(broker.GetPartition).Distinct().Count() >= 4, "the channels should spread over the partitions");
        const int rounds = 50;
        for (var round = 0; round < rounds; round++)
        {
            await broker.PublishAsync(channels.Select(c => Message(c, c + "/" + round)).ToList(), cts.Token);
        }

        var received = await ReadAsync(feed, rounds * channels.Length, cts.Token);

        foreach (var group in received.GroupBy(r => ChannelOf(r.Text)))
        {
            Assert.Equal(Enumerable.Range(0, rounds).Select(i => group.Key + "/" + i), group.Select(r => DataOf(r.Text)));
            Assert.All(group, r => Assert.Equal(broker.GetPartition(group.Key), r.Partition));
        }

        Assert.Equal(channels.Length, received.Select(r => ChannelOf(r.Text)).Distinct().Count());
    }

    [Theory]
    [InlineData(KafkaKeyPartitioner.Murmur2, "murmur2_random")]
    [InlineData(KafkaKeyPartitioner.Crc32, null)]
    public async Task GetPartition_AgreesWithWhereAnIndependentProducerPutEachKeyedRecord(KafkaKeyPartitioner partitioner, string? kcatPartitioner)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 7);
        await using var broker = _kafka.CreateBroker(topic, o => o.Partitioner = partitioner);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var first = feed.MoveNextAsync().AsTask();

        var channels = Enumerable.Range(0, 60).Select(i => i % 3 == 0 ? "user:" + i : "chat.room-" + i).ToArray();
        await Kcat.ProduceAsync(_kafka.BootstrapServers, topic, channels.Select(c => (c, $$"""{"channel":"{{c}}","data":"kcat"}""")), kcatPartitioner, cts.Token);
        Assert.True(await first.WaitAsync(ReadTimeout, cts.Token));
        var received = new List<ReceivedRecord> { ReceivedRecord.From(feed.Current) };
        received.AddRange(await ReadAsync(feed, channels.Length - 1, cts.Token));

        Assert.All(received, r => Assert.Equal(broker.GetPartition(ChannelOf(r.Text)), r.Partition));
        Assert.True(received.Select(r => r.Partition).Distinct().Count() >= 5);
    }

    [Fact]
    public async Task GetPartition_AgreesWithTheEdgeProducersReceipts()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 5);
        await using var broker = _kafka.CreateBroker(topic);
        await broker.OpenAsync(cts.Token);

        var messages = Enumerable.Range(0, 40).Select(i => Message("session:" + i, "x")).ToList();
        var receipt = await broker.PublishAsync(messages, cts.Token);

        for (var i = 0; i < messages.Count; i++)
        {
            Assert.Equal(broker.GetPartition(messages[i].Channel), receipt.Positions[i]!.Value.Partition);
        }
    }

    [Fact]
    public async Task Publish_MoreThanTheLocalQueueHolds_WaitsForRoomAndSucceeds()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 3);
        await using var broker = _kafka.CreateBroker(topic, o => o.Properties["queue.buffering.max.messages"] = "8");
        await broker.OpenAsync(cts.Token);

        var receipt = await broker.PublishAsync(Enumerable.Range(0, 300).Select(i => Message("c" + (i % 5), "q" + i)).ToList(), cts.Token);

        Assert.Equal(300, receipt.Positions.Count(p => p is not null));
        Assert.Equal(300, receipt.Positions.Distinct().Count());
    }

    [Fact]
    public async Task MalformedRecords_AreDeliveredAsStored_AndTheFeedKeepsReading()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 3);
        await using var broker = _kafka.CreateBroker(topic);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var first = feed.MoveNextAsync().AsTask();

        await Kcat.ProduceAsync(_kafka.BootstrapServers, topic, [("orders", "{\"channel\":\"orders\",\"data\":"), ("orders", "plain text")], "murmur2_random", cts.Token);
        await _kafka.PublishRawAsync(topic, "orders", null, cts.Token);
        await _kafka.PublishRawAsync(topic, "orders", [0xC3, 0x28, 0x00], cts.Token);
        await broker.PublishAsync([Message("orders", "valid-after")], cts.Token);

        Assert.True(await first.WaitAsync(ReadTimeout, cts.Token));
        var received = new List<ReceivedRecord> { ReceivedRecord.From(feed.Current) };
        received.AddRange(await ReadAsync(feed, 4, cts.Token));
        Assert.Equal("{\"channel\":\"orders\",\"data\":", received[0].Text);
        Assert.Equal("plain text", received[1].Text);
        Assert.Empty(received[2].Body);
        Assert.Equal([0xC3, 0x28, 0x00], received[3].Body);
        Assert.Equal("valid-after", DataOf(received[4].Text));
        Assert.Null(received[0].MessageId);
        Assert.NotNull(received[4].MessageId);
        Assert.Equal(received.Select(r => r.Offset).Order(), received.Select(r => r.Offset));
    }

    [Fact]
    public async Task NewPartitions_ArePickedUp_ByTheFeedAndTheNextOpen()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 2);
        await using var broker = _kafka.CreateBroker(topic, o => o.MetadataRefreshInterval = TimeSpan.FromMilliseconds(300));
        var before = await broker.OpenAsync(cts.Token);
        var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var first = feed.MoveNextAsync().AsTask();

        await _kafka.IncreasePartitionsAsync(topic, 5);
        while (broker.State.PartitionCount != 5)
        {
            await Task.Delay(100, cts.Token);
        }

        if (_kafka.IsMock)
        {
            // The mock cluster cannot add partitions: the fixture re-creates the topic (a new topic
            // id), so the feed ends with history lost, and a reopen continues on the new topic.
            await Assert.ThrowsAsync<LogHistoryLostException>(() => first.WaitAsync(ReadTimeout, cts.Token));
            await feed.DisposeAsync();
            await broker.OpenAsync(cts.Token);
            feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
            first = feed.MoveNextAsync().AsTask();
        }

        var channels = Enumerable.Range(0, 200).Select(i => "grow-" + i).Where(c => broker.GetPartition(c) >= 2).Take(6).ToList();
        Assert.Equal(6, channels.Count);
        foreach (var channel in channels)
        {
            await _kafka.PublishRawAsync(topic, channel, Encoding.UTF8.GetBytes($$"""{"channel":"{{channel}}","data":"late"}"""), cts.Token);
        }

        Assert.True(await first.WaitAsync(ReadTimeout, cts.Token));
        var received = new List<ReceivedRecord> { ReceivedRecord.From(feed.Current) };
        received.AddRange(await ReadAsync(feed, channels.Count - 1, cts.Token));
        var after = await broker.OpenAsync(cts.Token);

        await feed.DisposeAsync();
        Assert.Equal(2, before.PartitionCount);
        Assert.Equal(5, after.PartitionCount);
        Assert.Equal(channels.Order(), received.Select(r => ChannelOf(r.Text)).Order());
        Assert.All(received, r => Assert.Equal(broker.GetPartition(ChannelOf(r.Text)), r.Partition));
        Assert.Contains(received, r => r.Partition >= 2);
    }

    [Fact]
    public async Task RecreatedTopic_HasANewEpoch()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 2);
        string first;
        await using (var broker = _kafka.CreateBroker(topic))
        {
            first = (await broker.OpenAsync(cts.Token)).Epoch;
            await broker.PublishAsync([Message("orders", "old")], cts.Token);
        }

        await _kafka.RecreateTopicAsync(topic, 2);
        await using var again = _kafka.CreateBroker(topic);
        var second = await again.OpenAsync(cts.Token);

        Assert.NotEqual(first, second.Epoch);
        Assert.True(Cursors.EventCursor.IsValidEpoch(second.Epoch));
        Assert.All(second.NextOffsets, o => Assert.Equal(0, o));
    }

    [Fact]
    public async Task RecreatedTopic_WhileTheFeedRuns_EndsTheFeedWithHistoryLost()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 2);
        await using var broker = _kafka.CreateBroker(topic, o => o.MetadataRefreshInterval = TimeSpan.FromMilliseconds(300));
        var first = await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        await _kafka.RecreateTopicAsync(topic, 2);

        await Assert.ThrowsAsync<LogHistoryLostException>(async () => await feed.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), cts.Token));
        var reopened = await broker.OpenAsync(cts.Token);
        Assert.NotEqual(first.Epoch, reopened.Epoch);
    }

    [Fact]
    public async Task LookBackRecords_StartsTheFeedThatManyRecordsBeforeTheEnd()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 1);
        await using (var publisher = _kafka.CreateBroker(topic))
        {
            await publisher.OpenAsync(cts.Token);
            await publisher.PublishAsync(Enumerable.Range(0, 10).Select(i => Message("orders", "n" + i)).ToList(), cts.Token);
        }

        await using var broker = _kafka.CreateBroker(topic, o => o.LookBackRecords = 4);
        var snapshot = await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await broker.PublishAsync([Message("orders", "n10")], cts.Token);
        var received = await ReadAsync(feed, 5, cts.Token);

        Assert.Equal(10, snapshot.NextOffsets[0]);
        Assert.Equal([6L], snapshot.FeedStartOffsets!);
        Assert.Equal(["n6", "n7", "n8", "n9", "n10"], received.Select(r => DataOf(r.Text)));
    }

    [Fact]
    public async Task LookBackByTime_UsesTheTimeIndex_OrFallsBackToTheRecordCountWhereThereIsNone()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 1);
        await using (var publisher = _kafka.CreateBroker(topic))
        {
            await publisher.OpenAsync(cts.Token);
            await publisher.PublishAsync(Enumerable.Range(0, 10).Select(i => Message("orders", "n" + i)).ToList(), cts.Token);
        }

        await using var broker = _kafka.CreateBroker(topic, o =>
        {
            o.LookBack = TimeSpan.FromHours(1);
            o.LookBackRecords = 3;
        });
        var snapshot = await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await broker.PublishAsync([Message("orders", "n10")], cts.Token);

        // The mock cluster answers OffsetsForTimes with the end: the count fallback applies.
        var expected = _kafka.IsMock ? Enumerable.Range(7, 4) : Enumerable.Range(0, 11);
        var received = await ReadAsync(feed, expected.Count(), cts.Token);
        Assert.Equal(expected.Select(i => "n" + i), received.Select(r => DataOf(r.Text)));
        Assert.Equal([(long)expected.First()], snapshot.FeedStartOffsets!);
    }

    [Fact]
    public async Task ReadAsync_ConcurrentReadBacks_AreBoundedAndEachComplete()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var topic = KafkaFixture.NewTopicName();
        await _kafka.CreateTopicAsync(topic, 3);
        await using var broker = _kafka.CreateBroker(topic, o => o.ReplayConcurrency = 2);
        await broker.OpenAsync(cts.Token);
        var receipt = await broker.PublishAsync(Enumerable.Range(0, 600).Select(i => Message("c" + (i % 9), "r" + i)).ToList(), cts.Token);
        var ends = receipt.Positions.GroupBy(p => p!.Value.Partition).ToDictionary(g => g.Key, g => g.Max(p => p!.Value.Offset) + 1);

        var reads = Enumerable.Range(0, 8).Select(async i =>
        {
            var partition = i % 3;
            var count = 0;
            long last = -1;
            await foreach (var record in broker.ReadAsync(partition, 0, ends.GetValueOrDefault(partition), cts.Token))
            {
                Assert.Equal(last + 1, record.Offset);
                last = record.Offset;
                count++;
            }

            return (partition, count);
        }).ToList();
        var results = await Task.WhenAll(reads).WaitAsync(ReadTimeout, cts.Token);

        Assert.All(results, r => Assert.Equal(ends.GetValueOrDefault(r.partition), r.count));
        Assert.Equal(600, results.DistinctBy(r => r.partition).Sum(r => r.count));
    }
}
