using Edge.Brokers;
using Edge.Configuration;
using Edge.Connections;
using Edge.Diagnostics;
using Edge.Feed;
using Edge.Sse;
using Edge.Streams;
using Edge.Transports;
using Microsoft.Extensions.Options;

namespace Edge.Hub;

/// <summary>
/// The heart of an instance: one reader of the broker's whole log, a replay window per partition,
/// the channel index, and every open connection. Each record is parsed and encoded once, kept in
/// the window, and offered to the connections of its channel without ever waiting for them.
/// </summary>
/// <remarks>
/// A facade over its roles, which share state only through what they are given here:
/// <see cref="BrokerFeedReader"/> (open, subscribe, retry) feeds <see cref="FeedIngest"/>, which
/// keeps each event in the <see cref="PartitionLog"/> and offers it to the
/// <see cref="DispatchShards"/>; these read the <see cref="ChannelIndex"/> the
/// <see cref="ConnectionRegistry"/> maintains; <see cref="ReplayPlanner"/> serves resumes and
/// <see cref="HeartbeatsAndDrain"/> sweeps the open connections.
/// </remarks>
internal sealed class EventHub
{
    private readonly IEventBroker _broker;
    private readonly PartitionLog _log;
    private readonly ConnectionRegistry _connections;
    private readonly DispatchShards _shards;
    private readonly FeedIngest _ingest;
    private readonly BrokerFeedReader _feed;
    private readonly ReplayPlanner _planner;
    private readonly HeartbeatsAndDrain _sweeps;
    private readonly BrokerStateWatch _brokerState;

    public EventHub(IEventBroker broker, IOptions<EdgeOptions> options, EdgeMetrics metrics, TimeProvider timeProvider, ILogger<EventHub> logger)
    {
        var replay = options.Value.Replay;
        var index = new ChannelIndex();
        _broker = broker;
        _log = new PartitionLog(replay, timeProvider);
        var preparer = new RecordPreparer(replay, _log);
        _connections = new ConnectionRegistry(broker, _log, index, metrics, timeProvider);
        _shards = new DispatchShards(index, metrics, timeProvider, Math.Max(1, Environment.ProcessorCount));
        _ingest = new FeedIngest(_log, preparer, _shards, ending => _connections.End(ending, logger), metrics, timeProvider, logger);
        _feed = new BrokerFeedReader(broker, _log, _ingest, () => _connections.CloseAll(CloseReason.Shutdown), metrics, timeProvider, logger);
        _planner = new ReplayPlanner(broker, _log, preparer, replay, timeProvider, logger);
        _sweeps = new HeartbeatsAndDrain(_connections, timeProvider, logger);
        _brokerState = new BrokerStateWatch(broker, logger);
        metrics.TrackBroker(() => IsOpen && broker.Health.IsAvailable);
    }

    public bool IsOpen => _feed.WhenOpen.IsCompletedSuccessfully;

    public bool IsDraining => _sweeps.IsDraining;

    public string Epoch => _log.Epoch;

    public IEventBroker Broker => _broker;

    public int ConnectionCount => _connections.Count;

    public int ChannelCount => _connections.ChannelCount;

    public Task WhenOpen => _feed.WhenOpen;

    /// <summary>Opens the log (retrying while the broker is down) and then reads it until stopped.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _shards.Start();
        try
        {
            await _feed.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _shards.StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Takes one record from the feed: parse, drop duplicates, encode once, keep, dispatch.</summary>
    internal void Ingest(BrokerRecord record) => _ingest.Ingest(record);

    /// <summary>Hands an event to its connections on the calling thread (micro-benchmarks; the feed uses the shards).</summary>
    internal void DispatchNow(PreparedEvent prepared) => _shards.DispatchNow(prepared);

    /// <summary>
    /// Registers a new connection on its channels and sets its starting position to the live
    /// head of each partition it reads; while draining it is closed at once.
    /// </summary>
    /// <param name="transport">How the connection's bytes reach its client.</param>
    public SseConnection Connect(StreamDefinition stream, string? userId, string? sessionId, IReadOnlyCollection<string> channels, IConnectionTransport transport)
    {
        var connection = _connections.Connect(stream, userId, sessionId, channels, transport);
        _sweeps.CloseIfDraining(connection);
        return connection;
    }

    /// <summary>Frees everything the connection held: index entries, registry entry, queue.</summary>
    public void Disconnect(SseConnection connection) => _connections.Disconnect(connection);

    /// <inheritdoc cref="ReplayPlanner.PlanReplayAsync"/>
    public Task<ReplayPlan> PlanReplayAsync(SseConnection connection, string cursorText, CancellationToken cancellationToken) =>
        _planner.PlanReplayAsync(connection, cursorText, cancellationToken);

    /// <summary>Sends a heartbeat to every connection that has been silent for its stream's interval.</summary>
    public void SendHeartbeats() => _sweeps.SendHeartbeats();

    /// <summary>Logs a change of the broker's availability (once per change).</summary>
    public void CheckBrokerState() => _brokerState.Check();

    /// <summary>Stops accepting streams and asks every open stream to close with a retry hint.</summary>
    public void BeginDrain() => _sweeps.BeginDrain();
}
