using Edge.Brokers.RabbitMq.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Edge.Brokers.RabbitMq;

/// <summary>
/// The log is one RabbitMQ stream queue, read in full by every edge instance (one partition,
/// offsets are stream offsets). Publishing goes to the stream with publisher confirms; the live
/// feed is a stream consumer that this broker re-creates itself after a connection loss, at the
/// offset after the last record it yielded; read-backs are short-lived consumers from an offset.
/// The epoch is kept beside the stream (see <see cref="EpochStore"/>).
/// </summary>
/// <remarks>
/// A facade over its roles, which share one <see cref="RabbitMqConnector"/> and one
/// <see cref="StreamState"/>: <see cref="StreamOpener"/> opens the log and decides where the feed
/// starts, with the <see cref="EpochResolver"/> that the <see cref="StreamLiveFeed"/> asks again
/// before it resumes; <see cref="StreamReadBack"/> serves replays, <see cref="StreamPublisher"/>
/// appends, and <see cref="StreamHealth"/> reports whether all of it can serve.
/// </remarks>
public sealed class RabbitMqBroker : IEventBroker
{
    public const string TypeName = "RabbitMq";

    private readonly RabbitMqBrokerOptions _options;
    private readonly RabbitMqConnector _connector;
    private readonly StreamHealth _health;
    private readonly StreamOpener _opener;
    private readonly StreamLiveFeed _feed;
    private readonly StreamReadBack _readBack;
    private readonly StreamPublisher _publisher;

    public RabbitMqBroker(IOptions<RabbitMqBrokerOptions> options, ILogger<RabbitMqBroker>? logger = null, TimeProvider? timeProvider = null)
    {
        _options = options.Value;
        var errors = RabbitMqBrokerOptionsValidator.Collect(_options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(RabbitMqBrokerOptionsValidator.Section, typeof(RabbitMqBrokerOptions), errors);
        }

        var log = (ILogger?)logger ?? NullLogger.Instance;
        var time = timeProvider ?? TimeProvider.System;
        _connector = new RabbitMqConnector(_options, log, time);
        var state = new StreamState();
        var topology = new StreamTopology(_options, log, time);
        var epochs = new EpochResolver(_options, topology, new EpochStore(_options.StreamName), log);
        _health = new StreamHealth(_options.StreamName, _connector, state);
        _opener = new StreamOpener(_options, _connector, topology, epochs, state, log, time);
        _feed = new StreamLiveFeed(_options, _connector, epochs, state, log, time);
        _readBack = new StreamReadBack(_options, _connector, topology, state, log, time);
        _publisher = new StreamPublisher(_connector, _options, log, time);
    }

    public string Name => TypeName;

    /// <summary>The stream this broker reads.</summary>
    public string StreamName => _options.StreamName;

    public BrokerHealth Health => _health.Current;

    public Task<LogSnapshot> OpenAsync(CancellationToken cancellationToken) => _opener.OpenAsync(cancellationToken);

    public int GetPartition(string channel) => 0;

    public IAsyncEnumerable<BrokerRecord> SubscribeAsync(CancellationToken cancellationToken) => _feed.SubscribeAsync(cancellationToken);

    public IAsyncEnumerable<BrokerRecord> ReadAsync(int partition, long fromOffset, long toOffset, CancellationToken cancellationToken) =>
        _readBack.ReadAsync(partition, fromOffset, toOffset, cancellationToken);

    public Task<long> GetEarliestOffsetAsync(int partition, CancellationToken cancellationToken) => _readBack.GetEarliestOffsetAsync(partition, cancellationToken);

    public async Task<PublishReceipt> PublishAsync(IReadOnlyList<BrokerMessage> messages, CancellationToken cancellationToken)
    {
        await _publisher.PublishAsync(messages, cancellationToken).ConfigureAwait(false);

        // A stream over AMQP does not report the offsets it assigned.
        return new PublishReceipt(new LogPosition?[messages.Count]);
    }

    public async ValueTask DisposeAsync()
    {
        _feed.Stop();
        await _publisher.DisposeAsync().ConfigureAwait(false);
        await _connector.DisposeAsync().ConfigureAwait(false);
    }
}
