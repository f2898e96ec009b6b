using Edge.Brokers.Compliance;
using Edge.Brokers.Kafka.Tests.TestSupport;
using Xunit;

namespace Edge.Brokers.Kafka.Tests;

/// <summary>The shared broker contract, on Kafka: each log is a new topic with three partitions.</summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Kafka")]
public sealed class KafkaBrokerComplianceTests : BrokerComplianceTests
{
    private const int Partitions = 3;
    private readonly KafkaFixture _kafka;

    public KafkaBrokerComplianceTests(KafkaFixture kafka)
    {
        _kafka = kafka;
    }

    protected override async Task<IEventBroker> CreateBrokerAsync(string logName, CancellationToken cancellationToken)
    {
        await _kafka.CreateTopicAsync(logName, Partitions);
        return _kafka.CreateBroker(logName, o => o.Partitions = Partitions);
    }

    protected override async Task PublishRawAsync(string logName, string channel, byte[] body, CancellationToken cancellationToken)
    {
        await _kafka.CreateTopicAsync(logName, Partitions);
        await _kafka.PublishRawAsync(logName, channel, body, cancellationToken);
    }
}
