using System.Diagnostics.Metrics;
using Edge.Connections;

namespace Edge.Diagnostics;

/// <summary>
/// The edge's instruments, on the <c>Edge</c> meter, named <c>edge.*</c> with base units so the
/// Prometheus exporter turns them into <c>edge_*_total</c>, <c>edge_*_seconds</c> and gauges.
/// What happens per event is only counted in fields (one add per dispatch batch) that observable
/// instruments read at collection; what happens per stream (open, close, refusal) goes to ordinary
/// instruments with a few bounded tags. Tests and the JSON form read the same fields.
/// </summary>
internal sealed class EdgeMetrics
{
    public const string MeterName = "Edge";

    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] DurationBuckets = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 14400, 86400];

    private readonly UpDownCounter<long> _streamsOpen;
    private readonly Counter<long> _connects;
    private readonly Counter<long> _endings;
    private readonly Histogram<double> _streamDuration;
    private readonly Histogram<double> _deliveryLatency;
    private readonly Counter<long> _replayed;
    private readonly Counter<long> _gapsByReason;
    private readonly Counter<long> _brokerReconnects;
    private readonly Counter<long> _limitHits;
    private readonly Counter<long> _proxyErrors;

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
    private long _feedLagTicks;
    private long _lastRecordReadTicks;
    private Func<bool>? _brokerUp;

    public EdgeMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _streamsOpen = meter.CreateUpDownCounter<long>("edge.streams.open", "{stream}", "Open SSE streams, per stream name.");
        _connects = meter.CreateCounter<long>("edge.streams.connects", "{request}", "Stream requests by result (accepted, refused) and, when refused, the reason: auth, channel, limit, rate, bad_request, draining, broker_unavailable.");
        _endings = meter.CreateCounter<long>("edge.streams.endings", "{stream}", "Streams ended, by reason: client, slow_consumer, token_expired, evicted, drain, ended, reconfigured.");
        _streamDuration = meter.CreateHistogram("edge.streams.duration", "s", "How long streams stayed open.", null, new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        meter.CreateObservableCounter("edge.events.published", () => Volatile.Read(ref _eventsPublished), "{event}", "Events accepted by the publish API.");
        meter.CreateObservableCounter("edge.events.delivered", () => Volatile.Read(ref _eventsDelivered), "{event}", "Events written to SSE streams (live and replayed).");
        _deliveryLatency = meter.CreateHistogram("edge.events.delivery_latency", "s", "From the broker appending an event to the edge handing it to its streams' sockets or queues (once per event and dispatch worker with a recipient; the broker's timestamp resolution applies).", null, new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _replayed = meter.CreateCounter<long>("edge.replay.events", "{event}", "Events replayed to resuming streams, by source: memory, broker.");
        _gapsByReason = meter.CreateCounter<long>("edge.replay.gaps", "{stream}", "Gap signals sent to resuming streams, by reason.");
        meter.CreateObservableCounter("edge.broker.records", () => Volatile.Read(ref _recordsRead), "{record}", "Records read from the broker's live feed.");
        meter.CreateObservableCounter("edge.broker.records.malformed", () => Volatile.Read(ref _recordsMalformed), "{record}", "Records skipped because they do not parse.");
        meter.CreateObservableCounter("edge.broker.records.duplicate", () => Volatile.Read(ref _recordsDuplicate), "{record}", "Records dropped as duplicates of a message id.");
        _brokerReconnects = meter.CreateCounter<long>("edge.broker.reconnects", "{reconnect}", "Times the feed reopened or resubscribed to the broker after a failure.");
        meter.CreateObservableGauge("edge.broker.feed_lag", () => FeedLag.TotalSeconds, "s", "Between the broker appending the last record read and the edge reading it.");
        meter.CreateObservableGauge("edge.broker.up", () => _brokerUp?.Invoke() == true ? 1 : 0, null, "1 while the log is open and the broker reachable, else 0.");
        _limitHits = meter.CreateCounter<long>("edge.connection_limit.hits", "{request}", "Stream requests refused by a connection limit, by limit: user, user_stream, ip, instance.");
        meter.CreateObservableCounter("edge.publish.rejected", () => Volatile.Read(ref _publishRejected), "{request}", "Publish requests refused.");
        _proxyErrors = meter.CreateCounter<long>("edge.proxy.errors", "{request}", "Proxied requests YARP could not complete, by error.");
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

    /// <summary>Between the broker appending the last record read and the edge reading it; zero before the first.</summary>
    public TimeSpan FeedLag => TimeSpan.FromTicks(Volatile.Read(ref _feedLagTicks));

    /// <summary>When the feed last read a record (UTC ticks), or null before the first.</summary>
    public DateTimeOffset? LastRecordReadAt => Volatile.Read(ref _lastRecordReadTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>Gives the <c>edge.broker.up</c> gauge its source (the hub, once it exists).</summary>
    public void TrackBroker(Func<bool> up) => _brokerUp = up;

    public void ConnectionOpened(string stream)
    {
        Interlocked.Increment(ref _connections);
        Interlocked.Increment(ref _connectionsOpened);
        _streamsOpen.Add(1, new KeyValuePair<string, object?>("stream", stream));
        _connects.Add(1, new KeyValuePair<string, object?>("stream", stream), new KeyValuePair<string, object?>("result", "accepted"));
    }

    /// <summary>A registered stream ended: how it ended and how long it was open.</summary>
    public void ConnectionClosed(string stream, CloseReason reason, TimeSpan openFor)
    {
        Interlocked.Decrement(ref _connections);
        var streamTag = new KeyValuePair<string, object?>("stream", stream);
        _streamsOpen.Add(-1, streamTag);
        _endings.Add(1, streamTag, new KeyValuePair<string, object?>("reason", EndingTag(reason)));
        _streamDuration.Record(openFor.TotalSeconds, streamTag);
    }

    /// <summary>Counts events written, once per dispatch or flush batch.</summary>
    public void Delivered(int count) => Interlocked.Add(ref _eventsDelivered, count);

    /// <summary>An event handed to its streams (sent, or queued for their writers) by one dispatch worker, <paramref name="latency"/> after the broker appended it.</summary>
    public void DeliveryLatency(TimeSpan latency)
    {
        if (_deliveryLatency.Enabled)
        {
            _deliveryLatency.Record(latency < TimeSpan.Zero ? 0 : latency.TotalSeconds);
        }
    }

    public void SlowConsumer() => Interlocked.Increment(ref _slowConsumers);

    public void Gap(string reason)
    {
        Interlocked.Increment(ref _gaps);
        _gapsByReason.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    public void Replayed(int fromMemory, int fromBroker)
    {
        if (fromMemory > 0)
        {
            _replayed.Add(fromMemory, new KeyValuePair<string, object?>("source", "memory"));
        }

        if (fromBroker > 0)
        {
            _replayed.Add(fromBroker, new KeyValuePair<string, object?>("source", "broker"));
        }
    }

    /// <summary>A stream request refused; <paramref name="reason"/> is one of the bounded reason tags.</summary>
    public void StreamRejected(string stream, string reason)
    {
        Interlocked.Increment(ref _streamsRejected);
        _connects.Add(1, new KeyValuePair<string, object?>("stream", stream), new KeyValuePair<string, object?>("result", "refused"), new KeyValuePair<string, object?>("reason", reason));
    }

    public void ConnectionLimitHit(string limit) => _limitHits.Add(1, new KeyValuePair<string, object?>("limit", limit));

    /// <summary>A live record read: <paramref name="appendedTicks"/> is the broker's time (UTC ticks, 0 when unknown), <paramref name="nowTicks"/> the edge's.</summary>
    public void RecordRead(long appendedTicks, long nowTicks)
    {
        Interlocked.Increment(ref _recordsRead);
        Volatile.Write(ref _lastRecordReadTicks, nowTicks);
        if (appendedTicks > 0)
        {
            Volatile.Write(ref _feedLagTicks, Math.Max(0, nowTicks - appendedTicks));
        }
    }

    public void RecordMalformed() => Interlocked.Increment(ref _recordsMalformed);

    public void RecordDuplicate() => Interlocked.Increment(ref _recordsDuplicate);

    public void BrokerReconnect() => _brokerReconnects.Add(1);

    public void Published(int count) => Interlocked.Add(ref _eventsPublished, count);

    public void PublishRejectedOnce() => Interlocked.Increment(ref _publishRejected);

    public void ProxyError(string error) => _proxyErrors.Add(1, new KeyValuePair<string, object?>("error", error));

    /// <summary>The <c>reason</c> tag of <c>edge.streams.endings</c>.</summary>
    public static string EndingTag(CloseReason reason) => reason switch
    {
        CloseReason.SlowConsumer => "slow_consumer",
        CloseReason.Shutdown => "drain",
        CloseReason.TokenExpired => "token_expired",
        CloseReason.Replaced => "evicted",
        CloseReason.Ended => "ended",
        _ => "client",
    };

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
        feedLagSeconds = FeedLag.TotalSeconds,
    };
}
