using System.Text;
using Edge.Brokers;
using Edge.Configuration;

namespace Edge.Feed;

/// <summary>
/// The log as this instance opened it: its epoch and one <see cref="PartitionState"/> per
/// partition, grown when the feed meets a partition added after open. Readers never lock; only
/// growth does.
/// </summary>
internal sealed class PartitionLog(ReplayOptions replay, TimeProvider timeProvider)
{
    private readonly object _growGate = new();
    private volatile PartitionState[] _partitions = [];
    private string _epoch = string.Empty;
    private byte[] _epochAscii = [];

    /// <summary>The epoch of the last open; empty before the first.</summary>
    public string Epoch => _epoch;

    /// <summary><see cref="Epoch"/> as ASCII bytes, for the cursors connections write.</summary>
    public byte[] EpochAscii => _epochAscii;

    /// <summary>Partitions known so far.</summary>
    public int Count => _partitions.Length;

    /// <summary>
    /// Starts over from a snapshot (at open, and again when the log lost its history): each
    /// partition's live position is its head, and a window warm-up runs from its feed start.
    /// </summary>
    public void Reset(LogSnapshot snapshot)
    {
        var partitions = new PartitionState[snapshot.PartitionCount];
        for (var i = 0; i < partitions.Length; i++)
        {
            var head = snapshot.NextOffsets[i];
            var feedStart = snapshot.FeedStartOffsets is { } starts && i < starts.Count ? Math.Min(starts[i], head) : head;
            partitions[i] = new PartitionState(head, new ReplayWindow(replay, timeProvider, head)) { WarmUpNext = feedStart, WarmUpStart = feedStart < head ? feedStart : null };
        }

        _epoch = snapshot.Epoch;
        _epochAscii = Encoding.ASCII.GetBytes(snapshot.Epoch);
        _partitions = partitions;
    }

    /// <summary>The state of <paramref name="partition"/>; a partition unknown until now starts at offset 0.</summary>
    public PartitionState Get(int partition)
    {
        var partitions = _partitions;
        if ((uint)partition < (uint)partitions.Length)
        {
            return partitions[partition];
        }

        return Grow(partition);
    }

    private PartitionState Grow(int partition)
    {
        lock (_growGate)
        {
            var partitions = _partitions;
            if (partition >= partitions.Length)
            {
                // A partition added to the log after open starts at offset 0.
                var larger = new PartitionState[partition + 1];
                partitions.CopyTo(larger, 0);
                for (var i = partitions.Length; i < larger.Length; i++)
                {
                    larger[i] = new PartitionState(0, new ReplayWindow(replay, timeProvider, 0));
                }

                _partitions = larger;
                partitions = larger;
            }

            return partitions[partition];
        }
    }
}
