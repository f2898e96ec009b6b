using Edge.Brokers.Registration;

[assembly: EdgeBroker(Edge.Brokers.RabbitMq.RabbitMqBroker.TypeName, typeof(Edge.Brokers.RabbitMq.RabbitMqBrokerRegistration))]

namespace Edge.Brokers.RabbitMq;

/// <summary>Registers the RabbitMQ broker for <c>Edge:Broker:Type = RabbitMq</c>.</summary>
public sealed class RabbitMqBrokerRegistration : IEdgeBrokerRegistration
{
    public void Register(IEdgeBuilder builder) => builder.AddRabbitMqBroker();
}
