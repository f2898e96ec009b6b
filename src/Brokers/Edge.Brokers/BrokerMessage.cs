namespace Edge.Brokers;

/// <summary>One message to append.</summary>
/// <param name="Channel">The channel; brokers that partition by key use it as the key.</param>
/// <param name="MessageId">A unique id, so that a retried publish can be recognised as a duplicate.</param>
/// <param name="Body">The envelope JSON (content type <c>application/json</c>).</param>
public sealed record BrokerMessage(string Channel, string MessageId, ReadOnlyMemory<byte> Body);
