namespace Edge.Brokers;

/// <summary>What <see cref="IEventBroker.OpenAsync"/> learned about the log.</summary>
/// <param name="Epoch">
/// Identity of the log's history: 1 to 32 characters from <c>[0-9a-z]</c>. It changes
/// whenever history was lost, so a cursor from another epoch is answered with a gap signal.
/// </param>
/// <param name="NextOffsets">Per partition, the offset the next appended record will get (the live head).</param>
public sealed record LogSnapshot(string Epoch, IReadOnlyList<long> NextOffsets)
{
    public int PartitionCount => NextOffsets.Count;

    /// <summary>
    /// Per partition, where <see cref="IEventBroker.SubscribeAsync"/> starts when it begins before
    /// the head (a configured look-back). The host keeps records between this and
    /// <see cref="NextOffsets"/> in its replay window without sending them to live clients.
    /// Null when the feed starts at the head.
    /// </summary>
    public IReadOnlyList<long>? FeedStartOffsets { get; init; }
}
