using System.Net;
using System.Text;
using Edge.Brokers;
using Edge.Brokers.InMemory;
using Edge.Diagnostics;
using Edge.Hub;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Functional;

public sealed class ResumeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static string Batch(string channel, int from, int count) =>
        "[" + string.Join(',', Enumerable.Range(from, count).Select(i => $$"""{"channel":"{{channel}}","event":"n","data":"{{i}}"}""")) + "]";

    [Fact]
    public async Task Resume_AfterForcedDisconnect_ReplaysExactlyTheMissedEvents()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders");
        using (await edge.PublishAsync(Batch("orders", 0, 5)))
        {
        }

        var seen = await first.ReadEventsAsync(5, Wait);
        var lastId = first.LastEventId;
        await first.DisposeAsync();

        using (await edge.PublishAsync(Batch("orders", 5, 5)))
        {
        }

        await using var resumed = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders", lastEventId: lastId);
        using (await edge.PublishAsync(Batch("orders", 10, 3)))
        {
        }

        var rest = await resumed.ReadEventsAsync(8, Wait);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), seen.Select(e => e.Data));
        Assert.Equal(Enumerable.Range(5, 8).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), rest.Select(e => e.Data));
        Assert.True(await resumed.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Resume_WithLastEventIdQuery_Works_AndTheHeaderWins()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c");
        using (await edge.PublishAsync(Batch("c", 0, 3)))
        {
        }

        var events = await first.ReadEventsAsync(3, Wait);
        await first.DisposeAsync();

        await using var byQuery = await SseTestClient.ConnectAsync(edge.BaseAddress, $"/events?channels=c&lastEventId={events[0].Id}");
        Assert.Equal(["1", "2"], (await byQuery.ReadEventsAsync(2, Wait)).Select(e => e.Data));

        // A browser reconnecting re-requests the original URL (old lastEventId) with the newer header.
        await using var both = await SseTestClient.ConnectAsync(edge.BaseAddress, $"/events?channels=c&lastEventId={events[0].Id}", lastEventId: events[1].Id);
        Assert.Equal("2", (await both.ReadEventAsync(Wait)).Data);
        Assert.True(await both.NoEventWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Resume_BeforeAnyEvent_UsesTheInitialCursor()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c");
        await first.ReadFrameAsync(Wait);
        await first.ReadFrameAsync(Wait);
        var initial = first.LastEventId;
        Assert.NotNull(initial);
        await first.DisposeAsync();

        using (await edge.PublishAsync(Batch("c", 0, 2)))
        {
        }

        await using var resumed = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c", lastEventId: initial);
        Assert.Equal(["0", "1"], (await resumed.ReadEventsAsync(2, Wait)).Select(e => e.Data));
    }

    [Fact]
    public async Task Resume_WhilePublishingContinues_HasNoGapAndNoDuplicate()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        const int total = 600;

        // The first connection's initial cursor marks the start: everything published after it counts.
        string? lastId;
        await using (var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=live"))
        {
            await first.ReadFrameAsync(Wait);
            await first.ReadFrameAsync(Wait);
            lastId = first.LastEventId;
        }

        var publisher = Task.Run(async () =>
        {
            for (var i = 0; i < total; i += 10)
            {
                using var r = await edge.PublishAsync(Batch("live", i, 10), cancellationToken: cts.Token);
                Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
                await Task.Delay(5, cts.Token);
            }
        }, cts.Token);

        var received = new List<string>();
        var attempts = 0;
        while (received.Count < total && attempts++ < 50)
        {
            await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=live", lastEventId: lastId);
            var take = Math.Min(37 + attempts, total - received.Count);
            try
            {
                received.AddRange((await client.ReadEventsAsync(take, TimeSpan.FromSeconds(15))).Select(e => e.Data!));
            }
            finally
            {
                lastId = client.LastEventId;
            }
        }

        await publisher;
        Assert.Equal(Enumerable.Range(0, total).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), received);
    }

    [Fact]
    public async Task MalformedCursor_GivesTheGapSignal_ThenLive()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c", lastEventId: "1642678901234");

        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        var gap = await client.ReadEventAsync(Wait);
        Assert.Equal("edge-gap", gap.Event);
        Assert.Equal("""{"reason":"malformed-cursor"}""", gap.Data);
        Assert.NotNull(gap.Id);

        using (await edge.PublishAsync(Batch("c", 0, 1)))
        {
        }

        Assert.Equal("0", (await client.ReadEventAsync(Wait)).Data);
    }

    [Theory]
    [InlineData("x-1")]
    [InlineData("zzzz-99999999")]
    [InlineData("abc-1.2.3")]
    [InlineData("%0D%0Aevent:%20evil")]
    public async Task ForeignOrBrokenCursors_NeverCause5xx(string cursor)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c&lastEventId=" + cursor);

        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        Assert.Equal("edge-gap", (await client.ReadEventAsync(Wait)).Event);
    }

    [Fact]
    public async Task CursorOutsideTheWindow_GivesTheGapSignal()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
            ("Edge:Replay:MaxEvents", "5"),
            ("Edge:Replay:ReadFromBroker", "false")));
        var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c");
        using (await edge.PublishAsync(Batch("c", 0, 1)))
        {
        }

        await first.ReadEventAsync(Wait);
        var lastId = first.LastEventId;
        await first.DisposeAsync();
        using (await edge.PublishAsync(Batch("c", 1, 10)))
        {
        }

        // The publish is answered once the broker holds the events; the hub may still be reading
        // them, and a resume before it has would find its cursor inside the window.
        await WaitForRecordsReadAsync(edge, 11);
        await using var resumed = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c", lastEventId: lastId);
        var gap = await resumed.ReadEventAsync(Wait);
        Assert.Equal("""{"reason":"cursor-expired"}""", gap.Data);
        Assert.True(await resumed.NoEventWithinAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(1, edge.Services.GetRequiredService<EdgeMetrics>().Gaps);
    }

    [Fact]
    public async Task CursorOutsideTheWindow_IsReadBackFromTheBroker()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Replay:MaxEvents", "5")));
        var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c");
        using (await edge.PublishAsync(Batch("c", 0, 1)))
        {
        }

        await first.ReadEventAsync(Wait);
        var lastId = first.LastEventId;
        await first.DisposeAsync();
        using (await edge.PublishAsync(Batch("c", 1, 20)))
        {
        }

        await using var resumed = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c", lastEventId: lastId);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), (await resumed.ReadEventsAsync(20, Wait)).Select(e => e.Data));
    }

    [Fact]
    public async Task CursorFromAnotherEpoch_AfterRestart_GivesTheGapSignal()
    {
        string? lastId;
        await using (var before = await EdgeTestHost.StartAsync(TestSettings.Default()))
        {
            await using var client = await SseTestClient.ConnectAsync(before.BaseAddress, "/events?channels=c");
            using (await before.PublishAsync(Batch("c", 0, 1)))
            {
            }

            await client.ReadEventAsync(Wait);
            lastId = client.LastEventId;
        }

        await using var after = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var resumed = await SseTestClient.ConnectAsync(after.BaseAddress, "/events?channels=c", lastEventId: lastId);
        var gap = await resumed.ReadEventAsync(Wait);
        Assert.Equal(("edge-gap", """{"reason":"epoch-changed"}"""), (gap.Event, gap.Data));
    }

    [Fact]
    public async Task TwoInstancesOnOneLog_ResumeOnTheOtherInstance()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions { Partitions = 4 }, TimeProvider.System);
        void Share(IServiceCollection services) => services.AddSingleton(log);
        await using var a = await EdgeTestHost.StartAsync(TestSettings.Default(), configureServices: Share);
        await using var b = await EdgeTestHost.StartAsync(TestSettings.Default(), configureServices: Share);

        var channels = "orders,alerts,chat.lobby,news";
        var onA = await SseTestClient.ConnectAsync(a.BaseAddress, "/events?channels=" + channels);
        await using var onB = await SseTestClient.ConnectAsync(b.BaseAddress, "/events?channels=" + channels);
        var names = channels.Split(',');
        var all = "[" + string.Join(',', Enumerable.Range(0, 40).Select(i => $$"""{"channel":"{{names[i % 4]}}","data":"{{i}}"}""")) + "]";
        using (await a.PublishAsync(all))
        {
        }

        var fromA = await onA.ReadEventsAsync(20, Wait);
        var lastId = onA.LastEventId;
        await onA.DisposeAsync();
        using (await b.PublishAsync(all.Replace("\"data\":\"", "\"data\":\"late-", StringComparison.Ordinal)))
        {
        }

        await using var resumed = await SseTestClient.ConnectAsync(b.BaseAddress, "/events?channels=" + channels, lastEventId: lastId);
        var rest = await resumed.ReadEventsAsync(60, Wait);
        var fromB = await onB.ReadEventsAsync(80, Wait);

        Assert.Equal(fromB.Select(e => e.Data).Order(), fromA.Concat(rest).Select(e => e.Data).Order());
        Assert.True(await resumed.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
        foreach (var channel in names)
        {
            // Within a channel, the order is the publish order on both instances.
            var expected = fromB.Where(e => Channel(e.Data!) == channel).Select(e => e.Data);
            Assert.Equal(expected, fromA.Concat(rest).Where(e => Channel(e.Data!) == channel).Select(e => e.Data));
        }

        string Channel(string data) => names[int.Parse(data.Replace("late-", string.Empty, StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture) % 4];
    }

    [Fact]
    public async Task MalformedAndDuplicateRecords_AreSkippedAndCounted_AndTheStreamGoesOn()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(), configureServices: s => s.AddSingleton(log));
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c");
        var broker = new InMemoryBroker(log);

        await broker.PublishAsync(
        [
            new BrokerMessage("c", "m1", Encoding.UTF8.GetBytes("not json at all")),
            new BrokerMessage("c", "m2", Encoding.UTF8.GetBytes("""{"event":"no channel"}""")),
            new BrokerMessage("c", "m3", Encoding.UTF8.GetBytes("""{"channel":"c","event":"bad\nname","data":1}""")),
            new BrokerMessage("c", "m4", Encoding.UTF8.GetBytes("""{"id":"dup","channel":"c","data":"first"}""")),
            new BrokerMessage("c", "m4", Encoding.UTF8.GetBytes("""{"id":"dup","channel":"c","data":"first"}""")),
            new BrokerMessage("c", "m5", Encoding.UTF8.GetBytes("""{"channel":"c","data":"second"}""")),
        ], CancellationToken.None);

        Assert.Equal(["first", "second"], (await client.ReadEventsAsync(2, Wait)).Select(e => e.Data));
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        Assert.Equal(3, metrics.RecordsMalformed);
        Assert.Equal(1, metrics.RecordsDuplicate);
    }

    [Fact]
    public async Task LookBack_WarmsTheWindowOfANewInstance_WithoutSendingOldEventsLive()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        string? cursor;
        await using (var first = await EdgeTestHost.StartAsync(TestSettings.Default(), configureServices: s => s.AddSingleton(log)))
        {
            await using var client = await SseTestClient.ConnectAsync(first.BaseAddress, "/events?channels=c");
            using (await first.PublishAsync(Batch("c", 0, 10)))
            {
            }

            await client.ReadEventsAsync(3, Wait);
            cursor = client.LastEventId;
        }

        await using var second = await EdgeTestHost.StartAsync(
            TestSettings.Default(("Edge:Broker:InMemory:LookBackRecords", "20"), ("Edge:Replay:ReadFromBroker", "false")),
            configureServices: s => s.AddSingleton(log));
        var metrics = second.Services.GetRequiredService<EdgeMetrics>();
        var deadline = DateTime.UtcNow + Wait;
        while (metrics.RecordsRead < 10 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        await using var fresh = await SseTestClient.ConnectAsync(second.BaseAddress, "/events?channels=c");
        await using var resumed = await SseTestClient.ConnectAsync(second.BaseAddress, "/events?channels=c", lastEventId: cursor);

        Assert.Equal(Enumerable.Range(3, 7).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), (await resumed.ReadEventsAsync(7, Wait)).Select(e => e.Data));
        Assert.True(await fresh.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(0, second.Services.GetRequiredService<EdgeMetrics>().Gaps);
    }

    [Fact]
    public async Task LogReset_WhileRunning_TakesTheNewEpoch_AndSendsClientsBackWithAGap()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Shutdown:RetryHintMilliseconds", "250")), configureServices: s => s.AddSingleton(log));
        var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c");
        using (await edge.PublishAsync(Batch("c", 0, 2)))
        {
        }

        await client.ReadEventsAsync(2, Wait);
        var oldCursor = client.LastEventId;

        log.Reset();

        await client.WaitForEndAsync(Wait);
        Assert.EndsWith("retry: 250\n\n", client.RawText, StringComparison.Ordinal);
        await client.DisposeAsync();

        var hub = edge.Services.GetRequiredService<EventHub>();
        var deadline = DateTime.UtcNow + Wait;
        while (hub.Epoch != log.Epoch && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await using var back = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c", lastEventId: oldCursor);
        var gap = await back.ReadEventAsync(Wait);
        Assert.Equal(("edge-gap", """{"reason":"epoch-changed"}"""), (gap.Event, gap.Data));
        using (await edge.PublishAsync(Batch("c", 2, 1)))
        {
        }

        Assert.Equal("2", (await back.ReadEventAsync(Wait)).Data);
    }

    [Fact]
    public async Task CursorAheadOfThisInstance_WaitsForItToCatchUp_ThenOnlyLaterEvents()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var hub = edge.Services.GetRequiredService<EventHub>();
        var aheadBy3 = $"{hub.Epoch}-3";

        var connecting = SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c", lastEventId: aheadBy3);
        await Task.Delay(200);
        using (await edge.PublishAsync(Batch("c", 0, 5)))
        {
        }

        await using var client = await connecting;
        Assert.Equal(["3", "4"], (await client.ReadEventsAsync(2, Wait)).Select(e => e.Data));
        Assert.True(await client.NoEventWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task CursorFarAheadOfTheLog_GivesTheGapSignalAfterTheCatchUpTimeout()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Replay:CatchUpTimeout", "00:00:00.200")));
        var hub = edge.Services.GetRequiredService<EventHub>();

        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=c", lastEventId: $"{hub.Epoch}-1000");
        var gap = await client.ReadEventAsync(Wait);
        Assert.Equal("""{"reason":"cursor-ahead"}""", gap.Data);
    }

    private static async Task WaitForRecordsReadAsync(EdgeTestHost edge, long count)
    {
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        using var timeout = new CancellationTokenSource(Wait);
        while (metrics.RecordsRead < count)
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
