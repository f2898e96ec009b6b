using Edge.Brokers.InMemory;
using Edge.Connections;
using Edge.Hub;
using Xunit;

namespace Edge.Tests.Hub;

public sealed class ConnectionRegistryTests
{
    [Fact]
    public async Task Connect_ChannelsOnSeveralPartitions_ReadsEachPartitionOnceInAscendingOrder()
    {
        var kit = new HubTestKit(brokerOptions: new InMemoryBrokerOptions { Partitions = 8 });
        await kit.OpenAsync();
        var channels = Enumerable.Range(0, 40).Select(i => $"c{i}").Reverse().ToList();
        var expected = channels.Select(kit.Broker.GetPartition).Distinct().Order().ToArray();
        Assert.True(expected.Length > 1, "the channels should spread over several partitions");

        var connection = kit.Connect(channels);

        Assert.Equal(expected, connection.Partitions);
        Assert.Equal(expected.Length, connection.Offsets.Length);
    }

    [Fact]
    public async Task Connect_WithoutChannels_ReadsPartitionZero()
    {
        var kit = new HubTestKit(brokerOptions: new InMemoryBrokerOptions { Partitions = 4 });
        await kit.OpenAsync();

        var connection = kit.Connect([]);

        Assert.Equal([0], connection.Partitions);
        Assert.Equal(0, kit.Connections.ChannelCount);
    }

    [Fact]
    public async Task Connect_AfterEventsWereRead_StartsAtTheLiveHeadOfEachPartition()
    {
        var kit = new HubTestKit(brokerOptions: new InMemoryBrokerOptions { Partitions = 2 });
        await kit.OpenAsync();
        var (onZero, onOne) = ChannelsOnPartitionsZeroAndOne(kit);
        await kit.PublishAsync(onZero, "a", "b", "c");
        await kit.PublishAsync(onOne, "d");
        await kit.IngestAsync(0, 0, 3);
        await kit.IngestAsync(1, 0, 1);

        var connection = kit.Connect([onOne, onZero]);

        Assert.Equal([0, 1], connection.Partitions);
        Assert.Equal([3L, 1L], connection.Offsets);
    }

    [Fact]
    public async Task Connect_TwoConnections_GetIncreasingIdsAndAreCounted()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();

        var first = kit.Connect(["a"]);
        var second = kit.Connect(["a", "b"]);

        Assert.True(second.Id > first.Id);
        Assert.Equal(2, kit.Connections.Count);
        Assert.Equal(2, kit.Connections.ChannelCount);
        Assert.Equal(2, kit.Metrics.Connections);
    }

    [Fact]
    public async Task Disconnect_LastConnectionOfAChannel_RemovesTheChannelAndKeepsTheOthers()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        var first = kit.Connect(["a", "b"]);
        var second = kit.Connect(["b"]);

        kit.Connections.Disconnect(first);

        Assert.Equal(1, kit.Connections.Count);
        Assert.Equal(1, kit.Connections.ChannelCount);
        Assert.Same(second, Assert.Single(Registered(kit.Connections)));
    }

    [Fact]
    public async Task Disconnect_Twice_CountsTheConnectionClosedOnce()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        var connection = kit.Connect(["a"]);
        kit.Connect(["a"]);

        kit.Connections.Disconnect(connection);
        kit.Connections.Disconnect(connection);

        Assert.Equal(1, kit.Metrics.Connections);
        Assert.Equal(2, kit.Metrics.ConnectionsOpened);
    }

    [Fact]
    public async Task CloseAll_OpenConnections_ClosesEachWithTheReasonButKeepsThemRegistered()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        var first = kit.Connect(["a"]);
        var second = kit.Connect(["b"]);

        kit.Connections.CloseAll(CloseReason.Shutdown);

        Assert.Equal(CloseReason.Shutdown, first.CloseReason);
        Assert.Equal(CloseReason.Shutdown, second.CloseReason);
        Assert.Equal(2, kit.Connections.Count);
    }

    /// <summary>The registered connections, through the registry's own enumerator.</summary>
    private static List<SseConnection> Registered(ConnectionRegistry registry)
    {
        var list = new List<SseConnection>();
        foreach (var (_, connection) in registry)
        {
            list.Add(connection);
        }

        return list;
    }

    private static (string OnZero, string OnOne) ChannelsOnPartitionsZeroAndOne(HubTestKit kit)
    {
        var channels = Enumerable.Range(0, 100).Select(i => $"c{i}").ToList();
        return (channels.First(c => kit.Broker.GetPartition(c) == 0), channels.First(c => kit.Broker.GetPartition(c) == 1));
    }
}
