namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>The epoch, and the offset the live feed starts at (the head, or before it with a look-back).</summary>
internal sealed record OpenedLog(string Epoch, long Start);
