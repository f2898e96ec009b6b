namespace Edge.Brokers;

/// <summary>What <see cref="IEventBroker.OpenAsync"/> learned about the log.</summary>
/// <param name="Epoch">
/// Identity of the log's history: 1 to 32 characters from <c>[0-9a-z]</c>. It changes
/// whenever history was lost, so a cursor from another epoch is answered with a gap signal.
/// </param>
/// <param name="NextOffsets">Per partition, the offset the next appended record will get.</param>
public sealed record LogSnapshot(string Epoch, IReadOnlyList<long> NextOffsets)
{
    public int PartitionCount => NextOffsets.Count;
}
