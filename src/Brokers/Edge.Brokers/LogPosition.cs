namespace Edge.Brokers;

/// <summary>A place in the log: a partition and an offset within it.</summary>
public readonly record struct LogPosition(int Partition, long Offset);
