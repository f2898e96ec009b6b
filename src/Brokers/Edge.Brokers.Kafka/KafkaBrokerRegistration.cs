using Edge.Brokers.Registration;

[assembly: EdgeBroker(Edge.Brokers.Kafka.KafkaBroker.TypeName, typeof(Edge.Brokers.Kafka.KafkaBrokerRegistration))]

namespace Edge.Brokers.Kafka;

/// <summary>Registers the Kafka broker for <c>Edge:Broker:Type = Kafka</c>.</summary>
public sealed class KafkaBrokerRegistration : IEdgeBrokerRegistration
{
    public void Register(IEdgeBuilder builder) => builder.AddKafkaBroker();
}
