namespace Edge.Brokers;

/// <summary>Whether the broker is reachable, and if not, why (never containing credentials).</summary>
public sealed record BrokerHealth(bool IsAvailable, string? Reason = null)
{
    public static BrokerHealth Available { get; } = new(true);

    public static BrokerHealth Unavailable(string reason) => new(false, reason);
}
