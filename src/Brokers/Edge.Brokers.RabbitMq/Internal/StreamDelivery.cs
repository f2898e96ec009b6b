namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>One message read from the stream, its body copied out of the client's buffer.</summary>
internal readonly record struct StreamDelivery(long Offset, DateTimeOffset Timestamp, byte[] Body, string? MessageId)
{
    public BrokerRecord ToRecord() => new(0, Offset, Timestamp, Body, MessageId);
}
