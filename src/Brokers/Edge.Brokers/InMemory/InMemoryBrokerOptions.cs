namespace Edge.Brokers.InMemory;

/// <summary>Options of the embedded broker (<c>Edge:Broker:InMemory</c>).</summary>
public sealed record InMemoryBrokerOptions
{
    /// <summary>Partitions of the log. Default 1; more only to exercise multi-partition cursors.</summary>
    public int Partitions { get; set; } = 1;

    /// <summary>Records retained per partition for read-back. Default 100,000.</summary>
    public int MaxRecordsPerPartition { get; set; } = 100_000;

    /// <summary>How long a record is retained. Default one hour; zero keeps records until <see cref="MaxRecordsPerPartition"/> evicts them.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Records per partition read before the head at start, to warm the replay window. Default 0.</summary>
    public int LookBackRecords { get; set; }

    /// <summary>Largest record body accepted, in bytes. Default 1 MiB.</summary>
    public int MaxRecordBytes { get; set; } = 1024 * 1024;
}
