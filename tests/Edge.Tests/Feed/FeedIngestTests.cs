using System.Text;
using Edge.Brokers;
using Edge.Brokers.InMemory;
using Edge.Configuration;
using Edge.Feed;
using Edge.Sse;
using Edge.Tests.Hub;
using Xunit;

namespace Edge.Tests.Feed;

public sealed class FeedIngestTests
{
    [Fact]
    public async Task Ingest_LiveRecord_KeepsItInTheWindowAndAdvancesThePosition()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        await kit.PublishAsync("a", "one", "two");

        await kit.IngestAsync(0, 0, 2);

        var state = kit.Partitions.Get(0);
        Assert.Equal(2, Volatile.Read(ref state.NextOffset));
        Assert.Equal([0L, 1L], Collect(state, 0, 2));
        Assert.Equal(2, kit.Metrics.RecordsRead);
    }

    [Fact]
    public async Task Ingest_LiveRecord_ReachesTheConnectionsOfItsChannelThroughTheShards()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        await using var stream = kit.ConnectPumped(["a"]);
        kit.Shards.Start();
        await kit.PublishAsync("a", "one");

        await kit.IngestAsync(0, 0, 1);

        var sent = await stream.WaitForAsync("\n\n");
        Assert.StartsWith("data: one\nid: ", sent, StringComparison.Ordinal);
        await kit.Shards.StopAsync().WaitAsync(HubTestKit.Wait);
    }

    [Fact]
    public async Task Ingest_RepeatedMessageId_IsDroppedAndCountedButAdvancesThePosition()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();

        kit.Ingest.Ingest(Record(0, HubTestKit.Envelope("a", "x"), messageId: "m1"));
        kit.Ingest.Ingest(Record(1, HubTestKit.Envelope("a", "x"), messageId: "m1"));

        var state = kit.Partitions.Get(0);
        Assert.Equal(2, Volatile.Read(ref state.NextOffset));
        Assert.Equal([0L], Collect(state, 0, 2));
        Assert.Equal(1, kit.Metrics.RecordsDuplicate);
    }

    [Fact]
    public async Task Ingest_RepeatedEnvelopeIdWithDeduplicationOff_KeepsBoth()
    {
        var kit = new HubTestKit(new ReplayOptions { DeduplicationIds = 0 });
        await kit.OpenAsync();

        kit.Ingest.Ingest(Record(0, HubTestKit.Envelope("a", "x", id: "e1")));
        kit.Ingest.Ingest(Record(1, HubTestKit.Envelope("a", "x", id: "e1")));

        Assert.Equal([0L, 1L], Collect(kit.Partitions.Get(0), 0, 2));
        Assert.Equal(0, kit.Metrics.RecordsDuplicate);
    }

    [Fact]
    public async Task Ingest_MalformedOrOversizedRecord_IsSkippedAndCountedButAdvancesThePosition()
    {
        var kit = new HubTestKit(new ReplayOptions { MaxEnvelopeBytes = 100 });
        await kit.OpenAsync();

        kit.Ingest.Ingest(Record(0, Encoding.UTF8.GetBytes("not json")));
        kit.Ingest.Ingest(Record(1, HubTestKit.Envelope("a", new string('x', 200))));
        kit.Ingest.Ingest(Record(2, HubTestKit.Envelope("a", "fine")));

        var state = kit.Partitions.Get(0);
        Assert.Equal(3, Volatile.Read(ref state.NextOffset));
        Assert.Equal([2L], Collect(state, 0, 3));
        Assert.Equal(2, kit.Metrics.RecordsMalformed);
    }

    [Fact]
    public async Task Ingest_LookBackRecords_WarmTheWindowWithoutMovingTheLivePosition()
    {
        var kit = await LookBackKitAsync(published: 5, lookBack: 3);
        var state = kit.Partitions.Get(0);
        Assert.Equal(5, Volatile.Read(ref state.NextOffset));

        await kit.IngestAsync(0, 2, 4);

        Assert.Equal(5, Volatile.Read(ref state.NextOffset));
        Assert.Equal(2, state.Window.Count);
        Assert.Equal(2, state.WarmUpStart);

        // Until the look-back reaches the head, the window does not claim to cover it.
        Assert.Equal(5, state.Window.FirstCovered);
    }

    [Fact]
    public async Task Ingest_LookBackReachingTheHead_CoversTheWindowFromWhereTheLookBackBegan()
    {
        var kit = await LookBackKitAsync(published: 5, lookBack: 3);
        var state = kit.Partitions.Get(0);

        await kit.IngestAsync(0, 2, 5);

        Assert.Null(state.WarmUpStart);
        Assert.Equal(2, state.Window.FirstCovered);
        Assert.Equal([2L, 3L, 4L], Collect(state, 2, 5));
    }

    [Fact]
    public async Task Ingest_FirstLiveRecord_EndsTheLookBackAndCoversTheWindowFromWhereItBegan()
    {
        var kit = await LookBackKitAsync(published: 5, lookBack: 3);
        var state = kit.Partitions.Get(0);
        await kit.IngestAsync(0, 2, 3);
        await kit.PublishAsync("a", "live");

        await kit.IngestAsync(0, 5, 6);

        Assert.Null(state.WarmUpStart);
        Assert.Equal(2, state.Window.FirstCovered);
        Assert.Equal(6, Volatile.Read(ref state.NextOffset));
    }

    [Fact]
    public async Task Ingest_LookBackRecordReadAgain_IsKeptOnce()
    {
        var kit = await LookBackKitAsync(published: 5, lookBack: 3);
        var state = kit.Partitions.Get(0);

        // A resubscribe after a failure starts the look-back over.
        await kit.IngestAsync(0, 2, 4);
        await kit.IngestAsync(0, 2, 5);

        Assert.Equal([2L, 3L, 4L], Collect(state, 2, 5));
        Assert.Equal(0, kit.Metrics.RecordsDuplicate);
    }

    [Fact]
    public async Task Ingest_RecordOfAPartitionAddedAfterOpen_StartsThatPartitionAtOffsetZero()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();

        kit.Ingest.Ingest(Record(0, HubTestKit.Envelope("a", "x"), partition: 3));

        Assert.Equal(4, kit.Partitions.Count);
        Assert.Equal(1, Volatile.Read(ref kit.Partitions.Get(3).NextOffset));
    }

    private static async Task<HubTestKit> LookBackKitAsync(int published, int lookBack)
    {
        var kit = new HubTestKit(brokerOptions: new InMemoryBrokerOptions { LookBackRecords = lookBack });
        await kit.PublishAsync("a", Enumerable.Range(0, published).Select(i => $"old{i}").ToArray());
        await kit.OpenAsync();
        return kit;
    }

    private static BrokerRecord Record(long offset, byte[] body, string? messageId = null, int partition = 0) =>
        new(partition, offset, DateTimeOffset.Parse("2026-11-24T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture), body, messageId);

    private static List<long> Collect(PartitionState state, long from, long to)
    {
        var into = new List<PreparedEvent>();
        Assert.True(state.Window.TryCollect(from, to, _ => true, into));
        return into.Select(e => e.Offset).ToList();
    }
}
