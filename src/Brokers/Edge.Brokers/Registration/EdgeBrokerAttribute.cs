namespace Edge.Brokers.Registration;

/// <summary>
/// Declares, on a plugin assembly, the broker type it provides (the value of
/// <c>Edge:Broker:Type</c>) and the class that registers it. The host finds plugins by this
/// attribute, so a new broker needs no change to the host.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class EdgeBrokerAttribute(string type, Type registration) : Attribute
{
    public string Type { get; } = type;

    /// <summary>A type implementing <see cref="IEdgeBrokerRegistration"/> with a parameterless constructor.</summary>
    public Type Registration { get; } = registration;
}
