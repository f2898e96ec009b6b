using System.Runtime.CompilerServices;
using Confluent.Kafka;
using Edge.Brokers.Kafka.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Edge.Brokers.Kafka;

/// <summary>
/// The log is one Kafka topic (records as <see cref="KafkaRecordFormat"/> describes them). Every
/// edge instance reads all partitions itself (manual assignment, no consumer group, no
/// commits); the epoch is the topic id. This class composes the roles in <c>Internal/</c>: the
/// topic (<see cref="KafkaTopic"/>), offset queries (<see cref="KafkaWatermarks"/>), the feed's
/// start (<see cref="KafkaLookBack"/>), the live feed (<see cref="KafkaLiveFeed"/>), read-backs
/// (<see cref="KafkaReadBack"/>) and the producer (<see cref="KafkaEventPublisher"/>).
/// </summary>
public sealed class KafkaBroker : IEventBroker
{
    public const string TypeName = "Kafka";

    private static readonly TimeSpan RefreshLoopStopTimeout = TimeSpan.FromSeconds(5);

    private readonly KafkaBrokerOptions _options;
    private readonly ILogger<KafkaBroker> _logger;
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim _openGate = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    private readonly KafkaClients _clients;
    private readonly KafkaAvailability _availability;
    private readonly KafkaTopic _topic;
    private readonly KafkaWatermarks _watermarks;
    private readonly KafkaLookBack _lookBack;
    private readonly KafkaReadBack _readBack;
    private readonly KafkaEventPublisher _publisher;
    private long[]? _feedStartOffsets;
    private TopicState? _feedStartState;
    private Task? _refreshLoop;

    public KafkaBroker(IOptions<KafkaBrokerOptions> options, ILogger<KafkaBroker> logger, TimeProvider timeProvider)
    {
        _options = options.Value;
        _logger = logger;
        _timeProvider = timeProvider;
        _clients = new KafkaClients(_options, logger, OnClientError);
        _availability = new KafkaAvailability(logger);
        _topic = new KafkaTopic(_options, _clients, _availability, timeProvider, logger);
        _watermarks = new KafkaWatermarks(_options, _clients, _availability, timeProvider);
        _lookBack = new KafkaLookBack(_options, _clients, _watermarks, timeProvider, logger);
        _readBack = new KafkaReadBack(_options, _clients, _topic, _watermarks, timeProvider, logger);
        _publisher = new KafkaEventPublisher(_options, _clients, _availability, timeProvider, logger, _disposed.Token);
    }

    public string Name => TypeName;

    public BrokerHealth Health => _availability.Health;

    /// <summary>The topic as last described (set by <see cref="OpenAsync"/>, refreshed periodically).</summary>
    internal TopicState State => _topic.State;

    public async Task<LogSnapshot> OpenAsync(CancellationToken cancellationToken)
    {
        await _openGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _topic.Connect();
            _watermarks.Connect();
            var described = await _topic.DescribeOrCreateAsync(cancellationToken).ConfigureAwait(false);
            var (low, high) = await Task.Run(() => _watermarks.QueryAll(described.PartitionCount), cancellationToken).ConfigureAwait(false);
            _feedStartOffsets = await Task.Run(() => _lookBack.StartOffsets(low, high), cancellationToken).ConfigureAwait(false);

            // The feed starts from what this Open saw; it catches up with later changes itself.
            _feedStartState = _topic.Adopt(described);

            _refreshLoop ??= Task.Run(() => _topic.RefreshLoopAsync(_disposed.Token), CancellationToken.None);
            _availability.MarkAvailable();
            Log.Opened(_logger, _options.Topic, described.Epoch, described.PartitionCount);
            return new LogSnapshot(described.Epoch, high) { FeedStartOffsets = _lookBack.IsConfigured ? (long[])_feedStartOffsets.Clone() : null };
        }
        catch (KafkaException e)
        {
            _availability.MarkUnavailable(KafkaClients.Describe(e.Error));
            throw KafkaUnavailable.RetryLater($"Kafka topic '{_options.Topic}' could not be opened: {e.Error.Reason}", e);
        }
        finally
        {
            _openGate.Release();
        }
    }

    public int GetPartition(string channel) =>
        KafkaPartitioning.Partition(_options.Partitioner, channel, State.PartitionCount);

    public async IAsyncEnumerable<BrokerRecord> SubscribeAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var startOffsets = _feedStartOffsets ?? throw new InvalidOperationException("OpenAsync must complete before SubscribeAsync.");
        var feed = new KafkaLiveFeed(_clients, _topic, _availability, _feedStartState!, startOffsets, _timeProvider, _logger);
        feed.Start();
        try
        {
            await foreach (var record in feed.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return record;
            }
        }
        finally
        {
            await feed.DisposeAsync().ConfigureAwait(false);
        }
    }

    public IAsyncEnumerable<BrokerRecord> ReadAsync(int partition, long fromOffset, long toOffset, CancellationToken cancellationToken) =>
        _readBack.ReadAsync(partition, fromOffset, toOffset, cancellationToken);

    public Task<long> GetEarliestOffsetAsync(int partition, CancellationToken cancellationToken) =>
        _readBack.GetEarliestOffsetAsync(partition, cancellationToken);

    public Task<PublishReceipt> PublishAsync(IReadOnlyList<BrokerMessage> messages, CancellationToken cancellationToken) =>
        _publisher.PublishAsync(messages, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        if (_refreshLoop is not null)
        {
            await _refreshLoop.WaitAsync(RefreshLoopStopTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await Task.Run(() =>
        {
            _publisher.Close();
            _watermarks.Dispose();
            _topic.Dispose();
        }).ConfigureAwait(false);
    }

    private void OnClientError(Error error)
    {
        if (error.IsFatal)
        {
            _publisher.MarkFaulted();
        }

        _availability.OnClientError(error);
    }
}
