namespace Edge.Brokers.Registration;

/// <summary>Registers one broker type; named by <see cref="EdgeBrokerAttribute"/>.</summary>
public interface IEdgeBrokerRegistration
{
    /// <summary>
    /// Adds the broker's services, binding its options from the <c>Edge:Broker</c> section
    /// (conventionally its sub-section named after the type, e.g. <c>Edge:Broker:RabbitMq</c>).
    /// </summary>
    void Register(IEdgeBuilder builder);
}
