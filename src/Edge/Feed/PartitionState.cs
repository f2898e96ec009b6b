namespace Edge.Feed;

/// <summary>One partition of the log as this instance reads it: its live position and its replay window.</summary>
internal sealed class PartitionState
{
    /// <summary>The next offset the feed will take live; read by registration and replay, written by the feed.</summary>
    public long NextOffset;

    public PartitionState(long nextOffset, ReplayWindow window)
    {
        NextOffset = nextOffset;
        Window = window;
    }

    public ReplayWindow Window { get; }

    /// <summary>The next look-back offset the window expects (feed thread only).</summary>
    public long WarmUpNext { get; set; }

    /// <summary>Where the look-back began, while it is still being read; null once complete or without one.</summary>
    public long? WarmUpStart { get; set; }
}
