using Edge.Brokers.Compliance;
using Edge.Brokers.RabbitMq.Tests.Infrastructure;
using Xunit;

namespace Edge.Brokers.RabbitMq.Tests;

/// <summary>The shared broker contract, against a real RabbitMQ: each log name is a new stream.</summary>
[Collection(RabbitMqCollection.Name)]
[Trait("Category", "RabbitMq")]
public sealed class RabbitMqBrokerComplianceTests(RabbitMqFixture rabbit) : BrokerComplianceTests
{
    protected override Task<IEventBroker> CreateBrokerAsync(string logName, CancellationToken cancellationToken) =>
        Task.FromResult<IEventBroker>(rabbit.CreateBroker(logName));

    protected override Task PublishRawAsync(string logName, string channel, byte[] body, CancellationToken cancellationToken) =>
        rabbit.PublishRawAsync(logName, body, Guid.NewGuid().ToString("N"), cancellationToken: cancellationToken);
}
