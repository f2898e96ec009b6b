using Edge.Brokers;
using Edge.Brokers.Cursors;
using Edge.Brokers.InMemory;
using Edge.Configuration;
using Edge.Hub;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Edge.Tests.Hub;

public sealed class ReplayPlannerTests
{
    [Fact]
    public async Task PlanReplay_MalformedCursor_IsTheMalformedCursorGap()
    {
        var (kit, planner) = await OpenAsync();
        var connection = kit.Connect(["a"]);

        var plan = await planner.PlanReplayAsync(connection, "not a cursor", CancellationToken.None).WaitAsync(HubTestKit.Wait);

        Assert.Empty(plan.Events);
        Assert.Equal("malformed-cursor", plan.GapReason);
    }

    [Fact]
    public async Task PlanReplay_CursorOfAnotherEpoch_IsTheEpochChangedGap()
    {
        var (kit, planner) = await OpenAsync();
        var connection = kit.Connect(["a"]);
        var cursor = new EventCursor("otherepoch", [new LogPosition(0, 0)]).ToString();

        var plan = await planner.PlanReplayAsync(connection, cursor, CancellationToken.None).WaitAsync(HubTestKit.Wait);

        Assert.Empty(plan.Events);
        Assert.Equal("epoch-changed", plan.GapReason);
    }

    [Fact]
    public async Task PlanReplay_CursorAtTheHead_ReplaysNothingWithoutAGap()
    {
        var (kit, planner) = await OpenAsync();
        await PublishAndIngestAsync(kit, "a", 3);
        var connection = kit.Connect(["a"]);

        var plan = await planner.PlanReplayAsync(connection, Cursor(kit, 3), CancellationToken.None).WaitAsync(HubTestKit.Wait);

        Assert.Empty(plan.Events);
        Assert.Null(plan.GapReason);
        Assert.Equal([3L], connection.Offsets);
    }

    [Fact]
    public async Task PlanReplay_CursorInsideTheWindow_ReplaysTheConnectionsEventsFromMemoryAndMovesItsOffsetBack()
    {
        var (kit, planner) = await OpenAsync();
        await kit.PublishAsync("a", "a0", "a1");
        await kit.PublishAsync("b", "b2");
        await kit.PublishAsync("a", "a3");
        await kit.IngestAsync(0, 0, 4);
        var connection = kit.Connect(["a"]);

        // The broker is down: the window alone must serve this resume.
        kit.Log.IsAvailable = false;
        var plan = await planner.PlanReplayAsync(connection, Cursor(kit, 1), CancellationToken.None).WaitAsync(HubTestKit.Wait);

        Assert.Equal([1L, 3L], plan.Events.Select(e => e.Offset));
        Assert.Null(plan.GapReason);
        Assert.Equal([1L], connection.Offsets);
    }

    [Fact]
    public async Task PlanReplay_CursorBeforeTheWindow_ReadsTheMissedEventsBackFromTheBroker()
    {
        var (kit, planner) = await OpenAsync(new ReplayOptions { MaxEvents = 2 });
        await PublishAndIngestAsync(kit, "a", 6);
        var connection = kit.Connect(["a"]);

        var plan = await planner.PlanReplayAsync(connection, Cursor(kit, 1), CancellationToken.None).WaitAsync(HubTestKit.Wait);

        Assert.Equal([1L, 2L, 3L, 4L, 5L], plan.Events.Select(e => e.Offset));
        Assert.Null(plan.GapReason);
        Assert.Equal([1L], connection.Offsets);
    }

    [Theory]
    [InlineData(false, 100_000)]
    [InlineData(true, 3)]
    public async Task PlanReplay_CursorBeforeTheWindowAndNotReadBack_IsTheCursorExpiredGap(bool readFromBroker, int brokerRetains)
    {
        // Either the broker may not be asked, or it no longer holds offset 1.
        var (kit, planner) = await OpenAsync(new ReplayOptions { MaxEvents = 2, ReadFromBroker = readFromBroker }, new InMemoryBrokerOptions { MaxRecordsPerPartition = brokerRetains });
        await PublishAndIngestAsync(kit, "a", 6);
        var connection = kit.Connect(["a"]);

        var plan = await planner.PlanReplayAsync(connection, Cursor(kit, 1), CancellationToken.None).WaitAsync(HubTestKit.Wait);

        Assert.Empty(plan.Events);
        Assert.Equal("cursor-expired", plan.GapReason);
        Assert.Equal([6L], connection.Offsets);
    }

    [Fact]
    public async Task PlanReplay_BrokerDownDuringReadBack_ThrowsBrokerUnavailable()
    {
        var (kit, planner) = await OpenAsync(new ReplayOptions { MaxEvents = 2 });
        await PublishAndIngestAsync(kit, "a", 6);
        var connection = kit.Connect(["a"]);
        kit.Log.IsAvailable = false;

        await Assert.ThrowsAsync<BrokerUnavailableException>(() => planner.PlanReplayAsync(connection, Cursor(kit, 1), CancellationToken.None).WaitAsync(HubTestKit.Wait));
    }

    [Fact]
    public async Task PlanReplay_CursorAheadThatTheFeedReachesInTime_WaitsAndMovesTheOffsetToTheCursor()
    {
        var (kit, planner) = await OpenAsync();
        await PublishAndIngestAsync(kit, "a", 2);
        var connection = kit.Connect(["a"]);
        await kit.PublishAsync("a", "x2", "x3", "x4");

        // Another instance has read to offset 4; this one is still at 2.
        var planning = planner.PlanReplayAsync(connection, Cursor(kit, 4), CancellationToken.None);
        Assert.False(planning.IsCompleted);
        await kit.IngestAsync(0, 2, 5);
        kit.Time.Advance(TimeSpan.FromMilliseconds(20));
        var plan = await planning.WaitAsync(HubTestKit.Wait);

        Assert.Empty(plan.Events);
        Assert.Null(plan.GapReason);
        Assert.Equal([4L], connection.Offsets);
    }

    [Fact]
    public async Task PlanReplay_CursorAheadPastTheCatchUpTimeout_IsTheCursorAheadGap()
    {
        var (kit, planner) = await OpenAsync(new ReplayOptions { CatchUpTimeout = TimeSpan.FromSeconds(1) });
        await PublishAndIngestAsync(kit, "a", 2);
        var connection = kit.Connect(["a"]);

        var planning = planner.PlanReplayAsync(connection, Cursor(kit, 4), CancellationToken.None);
        Assert.False(planning.IsCompleted);
        kit.Time.Advance(TimeSpan.FromSeconds(1));
        var plan = await planning.WaitAsync(HubTestKit.Wait);

        Assert.Empty(plan.Events);
        Assert.Equal("cursor-ahead", plan.GapReason);
        Assert.Equal([2L], connection.Offsets);
    }

    [Fact]
    public async Task PlanReplay_CursorWithoutTheConnectionsPartition_LeavesThatPartitionAtTheHead()
    {
        var (kit, planner) = await OpenAsync(brokerOptions: new InMemoryBrokerOptions { Partitions = 2 });
        var channel = Enumerable.Range(0, 100).Select(i => $"c{i}").First(c => kit.Broker.GetPartition(c) == 1);
        var connection = kit.Connect([channel]);

        var plan = await planner.PlanReplayAsync(connection, Cursor(kit, 0), CancellationToken.None).WaitAsync(HubTestKit.Wait);

        Assert.Empty(plan.Events);
        Assert.Null(plan.GapReason);
        Assert.Equal([1], connection.Partitions);
        Assert.Equal([0L], connection.Offsets);
    }

    private static async Task<(HubTestKit Kit, ReplayPlanner Planner)> OpenAsync(ReplayOptions? replay = null, InMemoryBrokerOptions? brokerOptions = null)
    {
        var kit = new HubTestKit(replay, brokerOptions);
        await kit.OpenAsync();
        return (kit, new ReplayPlanner(kit.Broker, kit.Partitions, kit.Preparer, kit.Replay, kit.Time, NullLogger.Instance));
    }

    private static async Task PublishAndIngestAsync(HubTestKit kit, string channel, int count)
    {
        var from = Volatile.Read(ref kit.Partitions.Get(0).NextOffset);
        await kit.PublishAsync(channel, Enumerable.Range((int)from, count).Select(i => $"e{i}").ToArray());
        await kit.IngestAsync(0, from, from + count);
    }

    /// <summary>A cursor of the log's epoch at <paramref name="offset"/> of partition 0.</summary>
    private static string Cursor(HubTestKit kit, long offset) => new EventCursor(kit.Partitions.Epoch, [new LogPosition(0, offset)]).ToString();
}
