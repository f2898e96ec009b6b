using Xunit;

namespace Edge.Tests.Hub;

public sealed class DispatchShardsTests
{
    [Fact]
    public async Task DispatchNow_EventOnAChannel_ReachesOnlyThatChannelsConnections()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        await using var onA = kit.ConnectPumped(["a"]);
        await using var onB = kit.ConnectPumped(["b"]);

        kit.Shards.DispatchNow(HubTestKit.Event("a", 0, "first"));
        kit.Shards.DispatchNow(HubTestKit.Event("b", 0, "second"));

        Assert.Equal("data: first\n\n", await onA.WaitForAsync("data: first\n\n"));
        Assert.Equal("data: second\n\n", await onB.WaitForAsync("data: second\n\n"));
    }

    [Fact]
    public async Task DispatchNow_PersonalEvent_ReachesOnlyThatUsersConnection()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        await using var alice = kit.ConnectPumped(["a"], userId: "alice");
        await using var bob = kit.ConnectPumped(["a"], userId: "bob");

        kit.Shards.DispatchNow(HubTestKit.Event("a", 0, "for-alice", userId: "alice"));
        kit.Shards.DispatchNow(HubTestKit.Event("a", 1, "for-all"));

        Assert.Equal("data: for-alice\n\ndata: for-all\n\n", await alice.WaitForAsync("data: for-all\n\n"));
        Assert.Equal("data: for-all\n\n", await bob.WaitForAsync("data: for-all\n\n"));
    }

    [Fact]
    public async Task Offer_ManyEventsOverSeveralShards_ReachEveryConnectionOnceInOrder()
    {
        var kit = new HubTestKit(shards: 3);
        await kit.OpenAsync();
        var streams = Enumerable.Range(0, 7).Select(_ => kit.ConnectPumped(["a"])).ToArray();
        var expected = string.Concat(Enumerable.Range(0, 500).Select(i => $"data: e{i}\n\n"));
        kit.Shards.Start();

        for (var i = 0; i < 500; i++)
        {
            kit.Shards.Offer(HubTestKit.Event("a", i, $"e{i}"));
        }

        foreach (var stream in streams)
        {
            Assert.Equal(expected, await stream.WaitForAsync("data: e499\n\n"));
            await stream.DisposeAsync();
        }

        await kit.Shards.StopAsync().WaitAsync(HubTestKit.Wait);
    }

    [Fact]
    public async Task StopAsync_WithEventsQueued_DispatchesThemBeforeTheWorkersEnd()
    {
        var kit = new HubTestKit(shards: 2);
        await kit.OpenAsync();
        await using var stream = kit.ConnectPumped(["a"]);
        kit.Shards.Start();
        for (var i = 0; i < 100; i++)
        {
            kit.Shards.Offer(HubTestKit.Event("a", i, $"e{i}"));
        }

        await kit.Shards.StopAsync().WaitAsync(HubTestKit.Wait);

        await stream.WaitForAsync("data: e99\n\n");
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
}
