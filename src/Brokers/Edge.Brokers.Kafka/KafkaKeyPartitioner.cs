namespace Edge.Brokers.Kafka;

/// <summary>How a record's key (its channel) selects its partition. Every publisher of a topic must agree.</summary>
public enum KafkaKeyPartitioner
{
    /// <summary>
    /// <c>(murmur2(key) &amp; 0x7fffffff) % partitions</c>: the Java client's default, and
    /// librdkafka's <c>murmur2_random</c>. .NET and other librdkafka publishers set
    /// <c>Partitioner = Partitioner.Murmur2Random</c>.
    /// </summary>
    Murmur2,

    /// <summary><c>crc32(key) % partitions</c>: librdkafka's default (<c>consistent_random</c>).</summary>
    Crc32,
}
