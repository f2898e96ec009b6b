using Edge.Sse;

namespace Edge.Feed;

/// <summary>Where the feed hands each live event once it is kept in the log: the hub's dispatch.</summary>
internal interface ILiveEventSink
{
    /// <summary>Takes one event for the live connections of its channel; never waits for a connection.</summary>
    void Offer(PreparedEvent prepared);
}
