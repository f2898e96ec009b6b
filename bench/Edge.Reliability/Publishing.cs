using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Edge.Bench;
using RabbitMQ.Client;

namespace Edge.Reliability;

internal enum PublishOutcome
{
    /// <summary>The edge answered 2xx, or the broker confirmed: the event must be delivered once.</summary>
    Accepted,

    /// <summary>A definite refusal (an HTTP status other than 2xx): the event was not stored.</summary>
    Refused,

    /// <summary>No answer (timeout, connection lost): the event may or may not be stored.</summary>
    Unknown,
}

/// <summary>Where a publisher sends an envelope: the edge's HTTP API or the broker itself.</summary>
internal interface IPublishSink : IAsyncDisposable
{
    string Name { get; }

    /// <summary>The outcome, plus a short label of it for the report (<c>202</c>, <c>503</c>, <c>timeout</c>).</summary>
    Task<(PublishOutcome Outcome, string Label)> PublishAsync(string channel, string payload, string messageId, CancellationToken ct);
}

/// <summary>POST <c>/_edge/publish</c>, round-robin over the edges that are alive.</summary>
internal sealed class HttpPublishSink : IPublishSink
{
    private readonly IReadOnlyList<Func<EdgeProcess?>> _edges;
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(15) };
    private int _next;

    public HttpPublishSink(IReadOnlyList<Func<EdgeProcess?>> edges) => _edges = edges;

    public string Name => "http";

    public async Task<(PublishOutcome, string)> PublishAsync(string channel, string payload, string messageId, CancellationToken ct)
    {
        EdgeProcess? edge = null;
        for (var k = 0; k < _edges.Count && edge is null; k++)
        {
            var e = _edges[(int)((uint)Interlocked.Increment(ref _next) % (uint)_edges.Count)]();
            if (e is { HasExited: false })
            {
                edge = e;
            }
        }

        if (edge is null)
        {
            return (PublishOutcome.Refused, "no-edge");
        }

        // The same request Edge.Bench sends, with the message id that lets the edge drop a retried copy.
        var target = new Target { Kind = TargetKind.Edge, Name = edge.Name, Server = edge.EndPoint, PublishBase = edge.BaseUri };
        using var req = target.PublishRequest(channel, payload, 0);
        req.Content = new StringContent(Envelope(channel, payload, messageId), Encoding.UTF8, "application/json");
        try
        {
            using var resp = await _client.SendAsync(req, ct).ConfigureAwait(false);
            var code = ((int)resp.StatusCode).ToString(CultureInfo.InvariantCulture);
            return (resp.IsSuccessStatusCode ? PublishOutcome.Accepted : PublishOutcome.Refused, code);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return (PublishOutcome.Unknown, e is TaskCanceledException ? "timeout" : "connection-error");
        }
    }

    public static string Envelope(string channel, string payload, string messageId) =>
        $"{{\"channel\":\"{channel}\",\"data\":\"{payload}\",\"id\":\"{messageId}\"}}";

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Straight to RabbitMQ: the fanout exchange bound to the edge's stream, with publisher confirms.</summary>
internal sealed class RabbitMqPublishSink : IPublishSink
{
    private readonly ConnectionFactory _factory;
    private readonly string _exchange;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;

    public RabbitMqPublishSink(string uri, string exchange)
    {
        _factory = new ConnectionFactory { Uri = new Uri(uri), AutomaticRecoveryEnabled = false, RequestedConnectionTimeout = TimeSpan.FromSeconds(3) };
        _exchange = exchange;
    }

    public string Name => "amqp";

    public async Task<(PublishOutcome, string)> PublishAsync(string channel, string payload, string messageId, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_channel is not { IsOpen: true })
            {
                await DropAsync().ConfigureAwait(false);
                _connection = await _factory.CreateConnectionAsync(ct).ConfigureAwait(false);
                _channel = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct).ConfigureAwait(false);
            }

            var props = new BasicProperties { MessageId = messageId, ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await _channel.BasicPublishAsync(_exchange, string.Empty, mandatory: false, props, Encoding.UTF8.GetBytes(HttpPublishSink.Envelope(channel, payload, messageId)), timeout.Token).ConfigureAwait(false);
            return (PublishOutcome.Accepted, "confirmed");
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            await DropAsync().ConfigureAwait(false);
            return (PublishOutcome.Unknown, e.GetType().Name);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DropAsync()
    {
        try
        {
            if (_channel is not null)
            {
                await _channel.DisposeAsync().ConfigureAwait(false);
            }

            if (_connection is not null)
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // A broken connection may throw on close; it is replaced either way.
        }

        _channel = null;
        _connection = null;
    }

    public async ValueTask DisposeAsync() => await DropAsync().ConfigureAwait(false);
}

/// <summary>Straight to Kafka: key = channel, header <c>edge-message-id</c>, idempotent, acks=all.</summary>
internal sealed class KafkaPublishSink : IPublishSink
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly string _topic;

    public KafkaPublishSink(string bootstrap, string topic)
    {
        _topic = topic;
        _producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 2,
            MessageTimeoutMs = 10_000,
            // The edge hashes keys with murmur2 (Partitioner: Murmur2); so must a direct publisher.
            Partitioner = Partitioner.Murmur2Random,
        }).SetLogHandler((_, _) => { }).Build();
    }

    public string Name => "kafka";

    public async Task<(PublishOutcome, string)> PublishAsync(string channel, string payload, string messageId, CancellationToken ct)
    {
        var record = new Message<string, byte[]>
        {
            Key = channel,
            Value = Encoding.UTF8.GetBytes(HttpPublishSink.Envelope(channel, payload, messageId)),
            Headers = [new Header("edge-message-id", Encoding.UTF8.GetBytes(messageId))],
        };
        try
        {
            await _producer.ProduceAsync(_topic, record, ct).ConfigureAwait(false);
            return (PublishOutcome.Accepted, "acked");
        }
        catch (ProduceException<string, byte[]> e)
        {
            return (PublishOutcome.Unknown, e.Error.Code.ToString());
        }
    }

    public ValueTask DisposeAsync()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>What was published on one channel: per sequence number, its outcome.</summary>
internal sealed class ChannelLog(string channel, string sink)
{
    private readonly List<PublishOutcome> _outcomes = [];

    public string Channel { get; } = channel;

    public string Sink { get; } = sink;

    public int Count
    {
        get
        {
            lock (_outcomes)
            {
                return _outcomes.Count;
            }
        }
    }

    public void Add(PublishOutcome outcome)
    {
        lock (_outcomes)
        {
            _outcomes.Add(outcome);
        }
    }

    public PublishOutcome this[int seq]
    {
        get
        {
            lock (_outcomes)
            {
                return _outcomes[seq];
            }
        }
    }
}

/// <summary>
/// Publishes <c>"{seq} {timestamp}"</c> on each channel at a fixed rate, one request at a time per
/// channel (so a channel's order at the broker is its sequence order), and logs every outcome.
/// </summary>
internal sealed class SequencedPublisher(IPublishSink sink, IReadOnlyList<string> channels, double ratePerChannel)
{
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);

    public IReadOnlyList<ChannelLog> Logs { get; } = channels.Select(c => new ChannelLog(c, sink.Name)).ToArray();

    public string RunId { get; } = Guid.NewGuid().ToString("N")[..8];

    /// <summary>Outcome labels and their counts (<c>202</c>, <c>503</c>, <c>confirmed</c>, …).</summary>
    public Dictionary<string, int> Labels()
    {
        lock (_labels)
        {
            return new Dictionary<string, int>(_labels, StringComparer.Ordinal);
        }
    }

    /// <summary>Labels seen in a time window (e.g. during a broker cut), filled by <see cref="Watch"/>.</summary>
    public Dictionary<string, int>? Window { get; private set; }

    public void StopWatching() => _watching = false;

    private volatile bool _watching;

    public void StartWatching()
    {
        Window = new Dictionary<string, int>(StringComparer.Ordinal);
        _watching = true;
    }

    public Task RunAsync(TimeSpan duration, CancellationToken ct) =>
        Task.WhenAll(Logs.Select(log => Task.Run(() => RunChannelAsync(log, duration, ct), CancellationToken.None)));

    private async Task RunChannelAsync(ChannelLog log, TimeSpan duration, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var interval = TimeSpan.FromSeconds(1.0 / ratePerChannel);
        // Spread the channels' first publishes over one interval.
        var offset = interval * Random.Shared.NextDouble();
        for (var seq = 0; !ct.IsCancellationRequested; seq++)
        {
            var due = offset + (interval * seq);
            if (due >= duration)
            {
                return;
            }

            var wait = due - sw.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            var payload = seq.ToString(CultureInfo.InvariantCulture) + " " + Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture);
            var (outcome, label) = await sink.PublishAsync(log.Channel, payload, $"{RunId}-{log.Channel}-{seq}", CancellationToken.None).ConfigureAwait(false);
            log.Add(outcome);
            lock (_labels)
            {
                _labels[label] = _labels.GetValueOrDefault(label) + 1;
                if (_watching && Window is not null)
                {
                    Window[label] = Window.GetValueOrDefault(label) + 1;
                }
            }
        }
    }
}
