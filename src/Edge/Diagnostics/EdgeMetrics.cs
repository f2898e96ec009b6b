using System.Diagnostics.Metrics;

namespace Edge.Diagnostics;

/// <summary>
/// The edge's counters. The hot path only increments fields; instruments named <c>edge.*</c>
/// observe them, so nothing is allocated per event. Tests and <c>/_edge/metrics</c> read the
/// same numbers.
/// </summary>
internal sealed class EdgeMetrics
{
    public const string MeterName = "Edge";

    private long _connections;
    private long _connectionsOpened;
    private long _eventsDelivered;
    private long _slowConsumers;
    private long _gaps;
    private long _recordsRead;
    private long _recordsMalformed;
    private long _recordsDuplicate;
    private long _eventsPublished;
    private long _publishRejected;
    private long _streamsRejected;

    public EdgeMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableUpDownCounter("edge.sse.connections", () => Volatile.Read(ref _connections), "{connection}", "Open SSE streams.");
        meter.CreateObservableCounter("edge.sse.connections.opened", () => Volatile.Read(ref _connectionsOpened), "{connection}", "SSE streams opened.");
        meter.CreateObservableCounter("edge.sse.events.delivered", () => Volatile.Read(ref _eventsDelivered), "{event}", "Events written to SSE streams.");
        meter.CreateObservableCounter("edge.sse.slow_consumers", () => Volatile.Read(ref _slowConsumers), "{connection}", "Streams closed because their queue was full.");
        meter.CreateObservableCounter("edge.sse.gaps", () => Volatile.Read(ref _gaps), "{event}", "Gap signals sent to resuming clients.");
        meter.CreateObservableCounter("edge.sse.rejected", () => Volatile.Read(ref _streamsRejected), "{request}", "Stream requests refused.");
        meter.CreateObservableCounter("edge.broker.records", () => Volatile.Read(ref _recordsRead), "{record}", "Records read from the broker's live feed.");
        meter.CreateObservableCounter("edge.broker.records.malformed", () => Volatile.Read(ref _recordsMalformed), "{record}", "Records skipped because they do not parse.");
        meter.CreateObservableCounter("edge.broker.records.duplicate", () => Volatile.Read(ref _recordsDuplicate), "{record}", "Records dropped as duplicates of a message id.");
        meter.CreateObservableCounter("edge.publish.events", () => Volatile.Read(ref _eventsPublished), "{event}", "Events accepted by the publish API.");
        meter.CreateObservableCounter("edge.publish.rejected", () => Volatile.Read(ref _publishRejected), "{request}", "Publish requests refused.");
    }

    public long Connections => Volatile.Read(ref _connections);

    public long ConnectionsOpened => Volatile.Read(ref _connectionsOpened);

    public long EventsDelivered => Volatile.Read(ref _eventsDelivered);

    public long SlowConsumers => Volatile.Read(ref _slowConsumers);

    public long Gaps => Volatile.Read(ref _gaps);

    public long RecordsRead => Volatile.Read(ref _recordsRead);

    public long RecordsMalformed => Volatile.Read(ref _recordsMalformed);

    public long RecordsDuplicate => Volatile.Read(ref _recordsDuplicate);

    public long EventsPublished => Volatile.Read(ref _eventsPublished);

    public long PublishRejected => Volatile.Read(ref _publishRejected);

    public long StreamsRejected => Volatile.Read(ref _streamsRejected);

    public void ConnectionOpened()
    {
        Interlocked.Increment(ref _connections);
        Interlocked.Increment(ref _connectionsOpened);
    }

    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);

    public void Delivered(int count) => Interlocked.Add(ref _eventsDelivered, count);

    public void SlowConsumer() => Interlocked.Increment(ref _slowConsumers);

    public void Gap() => Interlocked.Increment(ref _gaps);

    public void StreamRejected() => Interlocked.Increment(ref _streamsRejected);

    public void RecordRead() => Interlocked.Increment(ref _recordsRead);

    public void RecordMalformed() => Interlocked.Increment(ref _recordsMalformed);

    public void RecordDuplicate() => Interlocked.Increment(ref _recordsDuplicate);

    public void Published(int count) => Interlocked.Add(ref _eventsPublished, count);

    public void PublishRejectedOnce() => Interlocked.Increment(ref _publishRejected);

    public object Snapshot() => new
    {
        connections = Connections,
        connectionsOpened = ConnectionsOpened,
        eventsDelivered = EventsDelivered,
        slowConsumers = SlowConsumers,
        gaps = Gaps,
        streamsRejected = StreamsRejected,
        recordsRead = RecordsRead,
        recordsMalformed = RecordsMalformed,
        recordsDuplicate = RecordsDuplicate,
        eventsPublished = EventsPublished,
        publishRejected = PublishRejected,
    };
}
