namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>The stored epoch and the highest head observed in it.</summary>
internal sealed record EpochEntry(string Epoch, long Head);
