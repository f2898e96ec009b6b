namespace Edge.Brokers.Kafka.Internal;

/// <summary>What the broker last learned about its topic; replaced, never mutated, when it changes.</summary>
internal sealed record TopicState(string Epoch, int PartitionCount);
