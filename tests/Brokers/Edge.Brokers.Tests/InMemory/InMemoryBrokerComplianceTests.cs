using System.Collections.Concurrent;
using Edge.Brokers.Compliance;
using Edge.Brokers.InMemory;

namespace Edge.Brokers.Tests.InMemory;

public sealed class InMemoryBrokerComplianceTests : BrokerComplianceTests
{
    private readonly ConcurrentDictionary<string, InMemoryLog> _logs = new();

    protected override Task<IEventBroker> CreateBrokerAsync(string logName, CancellationToken cancellationToken) =>
        Task.FromResult<IEventBroker>(new InMemoryBroker(LogNamed(logName)));

    protected override Task PublishRawAsync(string logName, string channel, byte[] body, CancellationToken cancellationToken)
    {
        var log = LogNamed(logName);
        log.Append([(ChannelHash.Partition(channel, log.PartitionCount), Guid.NewGuid().ToString("N"), body)]);
        return Task.CompletedTask;
    }

    private InMemoryLog LogNamed(string name) =>
        _logs.GetOrAdd(name, _ => new InMemoryLog(new InMemoryBrokerOptions { Partitions = 3 }, TimeProvider.System));
}
