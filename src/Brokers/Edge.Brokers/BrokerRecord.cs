namespace Edge.Brokers;

/// <summary>One record read from the log.</summary>
/// <param name="Partition">The partition it was read from.</param>
/// <param name="Offset">Its offset within the partition.</param>
/// <param name="Timestamp">When the broker appended it.</param>
/// <param name="Body">The envelope JSON, exactly as stored (it may be malformed).</param>
/// <param name="MessageId">
/// The broker-native message id when the broker carries one (RabbitMQ <c>message_id</c>, a
/// Kafka header); otherwise null and the envelope's own <c>id</c> is used.
/// </param>
public readonly record struct BrokerRecord(
    int Partition,
    long Offset,
    DateTimeOffset Timestamp,
    ReadOnlyMemory<byte> Body,
    string? MessageId = null);
