using Xunit;

namespace Edge.Tests.Hub;

public sealed class DispatchShardsTests
{
    [Fact]
    public async Task DispatchNow_EventOnAChannel_ReachesOnlyThatChannelsConnections()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        using var stop = new CancellationTokenSource();
        var onA = new RecordingTransport();
        var onB = new RecordingTransport();
        var pumps = new[] { kit.Pump(kit.Connect(["a"], onA), stop.Token), kit.Pump(kit.Connect(["b"], onB), stop.Token) };

        kit.Shards.DispatchNow(HubTestKit.Event("a", 0, "first"));
        kit.Shards.DispatchNow(HubTestKit.Event("b", 0, "second"));

        Assert.Equal("data: first\n\n", await onA.WaitForAsync("data: first\n\n"));
        Assert.Equal("data: second\n\n", await onB.WaitForAsync("data: second\n\n"));
        await StopAsync(stop, pumps);
    }

    [Fact]
    public async Task DispatchNow_PersonalEvent_ReachesOnlyThatUsersConnection()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        using var stop = new CancellationTokenSource();
        var alice = new RecordingTransport();
        var bob = new RecordingTransport();
        var pumps = new[] { kit.Pump(kit.Connect(["a"], alice, userId: "alice"), stop.Token), kit.Pump(kit.Connect(["a"], bob, userId: "bob"), stop.Token) };

        kit.Shards.DispatchNow(HubTestKit.Event("a", 0, "for-alice", userId: "alice"));
        kit.Shards.DispatchNow(HubTestKit.Event("a", 1, "for-all"));

        Assert.Equal("data: for-alice\n\ndata: for-all\n\n", await alice.WaitForAsync("data: for-all\n\n"));
        Assert.Equal("data: for-all\n\n", await bob.WaitForAsync("data: for-all\n\n"));
        await StopAsync(stop, pumps);
    }

    [Fact]
    public async Task Offer_ManyEvents_ReachEveryConnectionInOrder()
    {
        var kit = new HubTestKit(shards: 3);
        await kit.OpenAsync();
        using var stop = new CancellationTokenSource();
        var transports = Enumerable.Range(0, 7).Select(_ => new RecordingTransport()).ToArray();
        var pumps = transports.Select(t => kit.Pump(kit.Connect(["a"], t), stop.Token)).ToArray();
        var expected = string.Concat(Enumerable.Range(0, 500).Select(i => $"data: e{i}\n\n"));
        kit.Shards.Start();

        for (var i = 0; i < 500; i++)
        {
            kit.Shards.Offer(HubTestKit.Event("a", i, $"e{i}"));
        }

        foreach (var transport in transports)
        {
            Assert.Equal(expected, await transport.WaitForAsync("data: e499\n\n"));
        }

        await kit.Shards.StopAsync().WaitAsync(HubTestKit.Wait);
        await StopAsync(stop, pumps);
    }

    [Fact]
    public async Task StopAsync_WithEventsQueued_DispatchesThemBeforeTheWorkersEnd()
    {
        var kit = new HubTestKit(shards: 2);
        await kit.OpenAsync();
        using var stop = new CancellationTokenSource();
        var transport = new RecordingTransport();
        var pump = kit.Pump(kit.Connect(["a"], transport), stop.Token);
        kit.Shards.Start();
        for (var i = 0; i < 100; i++)
        {
            kit.Shards.Offer(HubTestKit.Event("a", i, $"e{i}"));
        }

        await kit.Shards.StopAsync().WaitAsync(HubTestKit.Wait);

        await transport.WaitForAsync("data: e99\n\n");
        await StopAsync(stop, [pump]);
    }

    [Fact]
    public async Task Offer_AfterStop_ReturnsWithoutWaiting()
    {
        var kit = new HubTestKit(shards: 1);
        await kit.OpenAsync();
        kit.Shards.Start();
        await kit.Shards.StopAsync().WaitAsync(HubTestKit.Wait);

        await Task.Run(() => kit.Shards.Offer(HubTestKit.Event("a", 0, "late"))).WaitAsync(HubTestKit.Wait);
    }

    private static async Task StopAsync(CancellationTokenSource stop, Task[] pumps)
    {
        await stop.CancelAsync();
        await Task.WhenAll(pumps).WaitAsync(HubTestKit.Wait);
    }
}
