namespace Edge.Brokers;

/// <summary>
/// The contract every broker plugin implements: an append-only log split into partitions,
/// read in full by every edge instance. The edge holds no state another instance needs; the
/// log is the shared truth, and positions in it (partition, offset) are what cursors carry.
/// </summary>
/// <remarks>
/// Offsets are per partition, increase with every append and are never reused within one
/// epoch. A log that loses its history (recreated, or an in-memory log after a restart) must
/// report a new <see cref="LogSnapshot.Epoch"/>.
/// </remarks>
public interface IEventBroker : IAsyncDisposable
{
    /// <summary>The broker type as written in configuration (<c>Edge:Broker:Type</c>).</summary>
    string Name { get; }

    /// <summary>Whether the broker is reachable now; readiness reports it.</summary>
    BrokerHealth Health { get; }

    /// <summary>
    /// Connects, creates the log when allowed, and describes it: its epoch and, per partition,
    /// the offset the next appended record will get. May be called again after a failure.
    /// </summary>
    Task<LogSnapshot> OpenAsync(CancellationToken cancellationToken);

    /// <summary>The partition that holds the records of <paramref name="channel"/>.</summary>
    int GetPartition(string channel);

    /// <summary>
    /// The live feed of this instance: every record appended to any partition from the heads
    /// reported by <see cref="OpenAsync"/> on (or from a configured look-back), in order within
    /// each partition. Reconnects by itself after a broker outage and resumes after the last
    /// record it yielded, so nothing is skipped or yielded twice. Ends only by cancellation.
    /// A record's <see cref="BrokerRecord.Body"/> is valid until the next record is requested.
    /// </summary>
    IAsyncEnumerable<BrokerRecord> SubscribeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Reads back the retained records of one partition with
    /// <paramref name="fromOffset"/> &lt;= offset &lt; <paramref name="toOffset"/>, in order.
    /// Records no longer retained are simply absent; use <see cref="GetEarliestOffsetAsync"/>
    /// to tell whether a range is complete.
    /// </summary>
    IAsyncEnumerable<BrokerRecord> ReadAsync(int partition, long fromOffset, long toOffset, CancellationToken cancellationToken);

    /// <summary>The lowest offset of <paramref name="partition"/> the broker still retains.</summary>
    Task<long> GetEarliestOffsetAsync(int partition, CancellationToken cancellationToken);

    /// <summary>
    /// Appends <paramref name="messages"/> and completes only once the broker has durably
    /// accepted every one of them. Throws <see cref="BrokerUnavailableException"/> when it
    /// cannot; the caller then knows nothing was acknowledged.
    /// </summary>
    Task<PublishReceipt> PublishAsync(IReadOnlyList<BrokerMessage> messages, CancellationToken cancellationToken);
}
