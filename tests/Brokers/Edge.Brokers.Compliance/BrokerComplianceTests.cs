using System.Text;
using Edge.Brokers.Cursors;
using Xunit;

namespace Edge.Brokers.Compliance;

/// <summary>
/// What every <see cref="IEventBroker"/> must do, run unchanged against each broker. A derived
/// class supplies brokers on fresh logs; each test uses its own log name so tests never see
/// each other's records.
/// </summary>
public abstract class BrokerComplianceTests
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A new, unopened broker instance on the log named <paramref name="logName"/> (created on
    /// first use). Two calls with one name are two edge instances reading one log.
    /// </summary>
    protected abstract Task<IEventBroker> CreateBrokerAsync(string logName, CancellationToken cancellationToken);

    /// <summary>Appends raw bytes to the log the way a broker-native publisher would, bypassing the edge.</summary>
    protected abstract Task PublishRawAsync(string logName, string channel, byte[] body, CancellationToken cancellationToken);

    /// <summary>True when the log outlives the broker instance, so reopening keeps its epoch.</summary>
    protected virtual bool LogOutlivesBroker => true;

    /// <summary>How long to wait to be sure no further record arrives.</summary>
    protected virtual TimeSpan QuietPeriod => TimeSpan.FromMilliseconds(500);

    protected static string NewLogName() => "edge-compliance-" + Guid.NewGuid().ToString("N")[..12];

    protected static BrokerMessage Message(string channel, string text, string? id = null)
    {
        id ??= Guid.NewGuid().ToString("N");
        var body = Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","channel":"{{channel}}","event":"message","data":"{{text}}"}""");
        return new BrokerMessage(channel, id, body);
    }

    [Fact]
    public async Task Open_ReportsValidEpochAndNextOffsets()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = await CreateBrokerAsync(NewLogName(), cts.Token);

        var snapshot = await broker.OpenAsync(cts.Token);

        Assert.True(EventCursor.IsValidEpoch(snapshot.Epoch), $"epoch '{snapshot.Epoch}' is not [0-9a-z]{{1,32}}");
        Assert.True(snapshot.PartitionCount >= 1);
        Assert.All(snapshot.NextOffsets, o => Assert.True(o >= 0));
        Assert.True(broker.Health.IsAvailable);
    }

    [Fact]
    public async Task Publish_ThenSubscribe_DeliversEveryRecordInPartitionOrder()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = await CreateBrokerAsync(NewLogName(), cts.Token);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        var channels = new[] { "orders", "alerts", "user:1", "chat.lobby", "session:x" };
        var sent = new List<BrokerMessage>();
        for (var i = 0; i < 50; i++)
        {
            sent.Add(Message(channels[i % channels.Length], "m" + i));
        }

        var receipt = await broker.PublishAsync(sent, cts.Token);
        var received = await ReadAsync(feed, sent.Count, cts.Token);

        Assert.Equal(sent.Count, receipt.Positions.Count);
        Assert.Equal(sent.Select(m => Encoding.UTF8.GetString(m.Body.Span)).Order(), received.Select(r => r.Text).Order());
        foreach (var group in received.GroupBy(r => r.Partition))
        {
            var offsets = group.Select(r => r.Offset).ToList();
            Assert.Equal(offsets.Order(), offsets);
            Assert.Equal(offsets.Count, offsets.Distinct().Count());
        }

        foreach (var message in sent)
        {
            var record = received.Single(r => r.Text == Encoding.UTF8.GetString(message.Body.Span));
            Assert.Equal(broker.GetPartition(message.Channel), record.Partition);
        }

        for (var i = 0; i < sent.Count; i++)
        {
            if (receipt.Positions[i] is { } position)
            {
                var record = received.Single(r => r.Text == Encoding.UTF8.GetString(sent[i].Body.Span));
                Assert.Equal(new LogPosition(record.Partition, record.Offset), position);
            }
        }
    }

    [Fact]
    public async Task Publish_ManyOnOneChannel_ArriveInPublishOrder()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = await CreateBrokerAsync(NewLogName(), cts.Token);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        const int count = 500;
        for (var batch = 0; batch < count / 50; batch++)
        {
            await broker.PublishAsync(Enumerable.Range(batch * 50, 50).Select(i => Message("orders", "n" + i)).ToList(), cts.Token);
        }

        var received = await ReadAsync(feed, count, cts.Token);
        Assert.Equal(Enumerable.Range(0, count).Select(i => "n" + i), received.Select(r => DataOf(r.Text)));
    }

    [Fact]
    public async Task Subscribe_StartsAtTheHeadsOpenReported()
    {
        var log = NewLogName();
        using var cts = new CancellationTokenSource(Timeout);
        await using (var earlier = await CreateBrokerAsync(log, cts.Token))
        {
            await earlier.OpenAsync(cts.Token);
            await earlier.PublishAsync([Message("orders", "before-1"), Message("orders", "before-2")], cts.Token);
        }

        await using var broker = await CreateBrokerAsync(log, cts.Token);
        var snapshot = await broker.OpenAsync(cts.Token);
        using var feedCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var feed = broker.SubscribeAsync(feedCts.Token).GetAsyncEnumerator(feedCts.Token);
        await broker.PublishAsync([Message("orders", "after-1")], cts.Token);

        var received = await ReadAsync(feed, 1, cts.Token);
        Assert.Equal("after-1", DataOf(received[0].Text));
        Assert.True(received[0].Offset >= snapshot.NextOffsets[received[0].Partition]);
        await AssertNothingMoreAsync(feed, feedCts);
    }

    [Fact]
    public async Task TwoInstancesOnOneLog_EachReceiveEveryRecord()
    {
        var log = NewLogName();
        using var cts = new CancellationTokenSource(Timeout);
        await using var a = await CreateBrokerAsync(log, cts.Token);
        await using var b = await CreateBrokerAsync(log, cts.Token);
        var snapshotA = await a.OpenAsync(cts.Token);
        var snapshotB = await b.OpenAsync(cts.Token);
        await using var feedA = a.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await using var feedB = b.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        await a.PublishAsync(Enumerable.Range(0, 10).Select(i => Message("orders", "a" + i)).ToList(), cts.Token);
        await b.PublishAsync(Enumerable.Range(0, 10).Select(i => Message("alerts", "b" + i)).ToList(), cts.Token);

        var fromA = await ReadAsync(feedA, 20, cts.Token);
        var fromB = await ReadAsync(feedB, 20, cts.Token);
        Assert.Equal(snapshotA.Epoch, snapshotB.Epoch);
        Assert.Equal(fromA.Select(r => (r.Partition, r.Offset, r.Text)).Order(), fromB.Select(r => (r.Partition, r.Offset, r.Text)).Order());
        Assert.Equal(a.GetPartition("orders"), b.GetPartition("orders"));
    }

    [Fact]
    public async Task ReadAsync_ReturnsExactlyTheRequestedRange()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = await CreateBrokerAsync(NewLogName(), cts.Token);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await broker.PublishAsync(Enumerable.Range(0, 20).Select(i => Message("orders", "r" + i)).ToList(), cts.Token);
        var live = await ReadAsync(feed, 20, cts.Token);

        var partition = live[0].Partition;
        var from = live[5].Offset;
        var to = live[15].Offset;
        var range = new List<Received>();
        await foreach (var record in broker.ReadAsync(partition, from, to, cts.Token))
        {
            range.Add(Received.From(record));
        }

        Assert.Equal(live.Skip(5).Take(10).Select(r => (r.Offset, r.Text)), range.Select(r => (r.Offset, r.Text)));
        Assert.True(await broker.GetEarliestOffsetAsync(partition, cts.Token) <= live[0].Offset);
    }

    [Fact]
    public async Task ReadAsync_PastTheEnd_ReturnsNothing()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = await CreateBrokerAsync(NewLogName(), cts.Token);
        var snapshot = await broker.OpenAsync(cts.Token);

        var count = 0;
        await foreach (var unused in broker.ReadAsync(0, snapshot.NextOffsets[0], snapshot.NextOffsets[0] + 10, cts.Token))
        {
            count++;
        }

        Assert.Equal(0, count);
    }

    [Fact]
    public async Task MalformedBodies_AreDeliveredAsStored_AndReadingContinues()
    {
        var log = NewLogName();
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = await CreateBrokerAsync(log, cts.Token);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        await PublishRawAsync(log, "orders", Encoding.UTF8.GetBytes("this is not json"), cts.Token);
        await PublishRawAsync(log, "orders", [0xFF, 0xFE, 0x00, 0x01], cts.Token);
        await broker.PublishAsync([Message("orders", "valid-after")], cts.Token);

        var received = await ReadAsync(feed, 3, cts.Token);
        Assert.Equal("this is not json", received[0].Text);
        Assert.Equal([0xFF, 0xFE, 0x00, 0x01], received[1].Bytes);
        Assert.Equal("valid-after", DataOf(received[2].Text));
    }

    [Fact]
    public async Task MessageIds_TravelWithTheRecord()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = await CreateBrokerAsync(NewLogName(), cts.Token);
        await broker.OpenAsync(cts.Token);
        await using var feed = broker.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        await broker.PublishAsync([Message("orders", "with-id", id: "msg-42")], cts.Token);
        var received = await ReadAsync(feed, 1, cts.Token);

        Assert.True(received[0].MessageId is null or "msg-42", $"unexpected message id {received[0].MessageId}");
        Assert.Contains("\"msg-42\"", received[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_EndsAWaitingSubscriptionPromptly()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var broker = await CreateBrokerAsync(NewLogName(), cts.Token);
        await broker.OpenAsync(cts.Token);

        using var subscription = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            await foreach (var unused in broker.SubscribeAsync(subscription.Token))
            {
            }
        });

        await Task.Delay(200, cts.Token);
        var started = DateTime.UtcNow;
        await subscription.CancelAsync();
        var ex = await Record.ExceptionAsync(() => reading.WaitAsync(TimeSpan.FromSeconds(10), cts.Token));

        Assert.True(ex is null or OperationCanceledException, $"subscription ended with {ex}");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Reopen_KeepsTheEpochWhenTheLogOutlivesTheBroker()
    {
        var log = NewLogName();
        using var cts = new CancellationTokenSource(Timeout);
        LogSnapshot first;
        await using (var broker = await CreateBrokerAsync(log, cts.Token))
        {
            first = await broker.OpenAsync(cts.Token);
            await broker.PublishAsync([Message("orders", "x")], cts.Token);
        }

        await using var again = await CreateBrokerAsync(log, cts.Token);
        var second = await again.OpenAsync(cts.Token);

        if (LogOutlivesBroker)
        {
            Assert.Equal(first.Epoch, second.Epoch);
            var partition = again.GetPartition("orders");
            Assert.True(second.NextOffsets[partition] > first.NextOffsets[partition]);
        }
        else
        {
            Assert.NotEqual(first.Epoch, second.Epoch);
        }
    }

    protected static string DataOf(string envelopeJson)
    {
        using var document = System.Text.Json.JsonDocument.Parse(envelopeJson);
        return document.RootElement.GetProperty("data").GetString()!;
    }

    protected static async Task<List<Received>> ReadAsync(IAsyncEnumerator<BrokerRecord> feed, int count, CancellationToken cancellationToken)
    {
        var received = new List<Received>(count);
        while (received.Count < count)
        {
            Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout, cancellationToken), "the feed ended");
            received.Add(Received.From(feed.Current));
        }

        return received;
    }

    /// <summary>Waits <see cref="QuietPeriod"/> for a record that must not come, then ends the feed.</summary>
    protected async Task AssertNothingMoreAsync(IAsyncEnumerator<BrokerRecord> feed, CancellationTokenSource feedCancellation)
    {
        var next = feed.MoveNextAsync().AsTask();
        var winner = await Task.WhenAny(next, Task.Delay(QuietPeriod));
        var unexpected = winner == next && next.IsCompletedSuccessfully && next.Result ? Received.From(feed.Current).Text : null;
        await feedCancellation.CancelAsync();
        await Record.ExceptionAsync(() => next.WaitAsync(Timeout));
        await feed.DisposeAsync();
        Assert.True(unexpected is null, "an unexpected record arrived: " + unexpected);
    }

    /// <summary>A record copied out of the feed (bodies are only valid until the next read).</summary>
    protected sealed record Received(int Partition, long Offset, byte[] Bytes, string? MessageId)
    {
        public string Text => Encoding.UTF8.GetString(Bytes);

        public static Received From(BrokerRecord record) => new(record.Partition, record.Offset, record.Body.ToArray(), record.MessageId);
    }
}
