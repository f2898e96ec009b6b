using System.IO.Pipelines;
using Edge.Brokers;
using Edge.Connections;
using Edge.Hub;
using Edge.Streams;
using Edge.Testing;
using Edge.Tests.Functional;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Hub;

public sealed class EventHubConnectTests
{
    [Fact]
    public async Task AConnection_ReadsEachPartitionOfItsChannelsOnce_InOrder()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Broker:InMemory:Partitions", "8")));
        var hub = edge.Services.GetRequiredService<EventHub>();
        var broker = edge.Services.GetRequiredService<IEventBroker>();
        var stream = edge.Services.GetRequiredService<StreamCatalog>().Streams[0];
        var channels = Enumerable.Range(0, 40).Select(i => $"c{i}").Reverse().ToList();
        var expected = channels.Select(broker.GetPartition).Distinct().Order().ToArray();
        Assert.True(expected.Length > 1, "the channels should spread over several partitions");

        var connection = hub.Connect(stream, null, null, channels, new Edge.Connections.PipeWriterTransport(PipeWriter.Create(Stream.Null)));
        var lonely = hub.Connect(stream, null, null, [], new Edge.Connections.PipeWriterTransport(PipeWriter.Create(Stream.Null)));
        try
        {
            Assert.Equal(expected, connection.Partitions);
            Assert.Equal(connection.Partitions.Length, connection.Offsets.Length);
            Assert.Equal([0], lonely.Partitions);
        }
        finally
        {
            hub.Disconnect(connection);
            hub.Disconnect(lonely);
        }
    }
}
