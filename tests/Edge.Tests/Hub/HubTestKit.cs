using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Text;
using Edge.Brokers;
using Edge.Brokers.InMemory;
using Edge.Configuration;
using Edge.Connections;
using Edge.Diagnostics;
using Edge.Feed;
using Edge.Hub;
using Edge.Sse;
using Edge.Streams;
using Edge.Transports;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Edge.Tests.Hub;

/// <summary>
/// The hub's roles wired by hand over an in-memory log and a fake clock, as <see cref="EventHub"/>
/// wires them, so each role can be driven on its own.
/// </summary>
internal sealed class HubTestKit
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    public HubTestKit(ReplayOptions? replay = null, InMemoryBrokerOptions? brokerOptions = null, int shards = 2)
    {
        Replay = replay ?? new ReplayOptions();
        Log = new InMemoryLog(brokerOptions ?? new InMemoryBrokerOptions(), Time);
        Broker = new InMemoryBroker(Log);
        Metrics = new EdgeMetrics(new TestMeterFactory());
        Partitions = new PartitionLog(Replay, Time);
        Preparer = new RecordPreparer(Replay, Partitions);
        var index = new ChannelIndex();
        Connections = new ConnectionRegistry(Broker, Partitions, index, Metrics, Time);
        Shards = new DispatchShards(index, Metrics, Time, shards);
        Ingest = new FeedIngest(Partitions, Preparer, Shards, ending => Connections.End(ending, NullLogger.Instance), Metrics, Time, NullLogger.Instance);
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-11-24T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public ReplayOptions Replay { get; }

    public InMemoryLog Log { get; }

    public InMemoryBroker Broker { get; }

    public EdgeMetrics Metrics { get; }

    public PartitionLog Partitions { get; }

    public RecordPreparer Preparer { get; }

    public ConnectionRegistry Connections { get; }

    public DispatchShards Shards { get; }

    public FeedIngest Ingest { get; }

    public static StreamDefinition Stream(TimeSpan? heartbeat = null) =>
        new("test", new StreamOptions { Path = "/events", Heartbeat = { Interval = heartbeat ?? TimeSpan.Zero } });

    /// <summary>The envelope of one event on <paramref name="channel"/>.</summary>
    public static byte[] Envelope(string channel, string data, string? id = null) =>
        Encoding.UTF8.GetBytes(id is null
            ? $$"""{"channel":"{{channel}}","data":"{{data}}"}"""
            : $$"""{"id":"{{id}}","channel":"{{channel}}","data":"{{data}}"}""");

    /// <summary>An event encoded as the feed would, with a frame that names it (<c>data: name</c>).</summary>
    public static PreparedEvent Event(string channel, long offset, string name, string? userId = null) =>
        new(0, offset, channel, userId, null, null, 0, Encoding.UTF8.GetBytes($"data: {name}\n\n"), 0);

    /// <summary>Opens the partition log on the broker's current head, as the feed reader does.</summary>
    public async Task OpenAsync() => Partitions.Reset(await Broker.OpenAsync(CancellationToken.None).WaitAsync(Wait));

    /// <summary>Appends events to the log (not yet read by anyone).</summary>
    public async Task PublishAsync(string channel, params string[] data)
    {
        var messages = data.Select(d => new BrokerMessage(channel, Guid.NewGuid().ToString("N"), Envelope(channel, d))).ToList();
        await Broker.PublishAsync(messages, CancellationToken.None).WaitAsync(Wait);
    }

    /// <summary>Feeds every record of a partition in [from, to) through ingest, as the live feed would.</summary>
    public async Task IngestAsync(int partition, long from, long to)
    {
        await foreach (var record in Broker.ReadAsync(partition, from, to, CancellationToken.None).WithCancellation(CancellationToken.None))
        {
            Ingest.Ingest(record);
        }
    }

    /// <summary>Connects and runs the connection's writer, as the stream endpoint does, until disposed or closed.</summary>
    public PumpedConnection ConnectPumped(IReadOnlyCollection<string> channels, string? userId = null, StreamDefinition? stream = null)
    {
        var transport = new RecordingTransport();
        return new PumpedConnection(Connect(channels, transport, userId, stream), transport, Metrics);
    }

    public SseConnection Connect(IReadOnlyCollection<string> channels, RecordingTransport? transport = null, string? userId = null, StreamDefinition? stream = null) =>
        Connections.Connect(stream ?? Stream(), userId, null, channels, transport ?? new RecordingTransport());

    private sealed class TestMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}

/// <summary>A connection with its writer running over a <see cref="RecordingTransport"/>.</summary>
internal sealed class PumpedConnection : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    public PumpedConnection(SseConnection connection, RecordingTransport transport, EdgeMetrics metrics)
    {
        Connection = connection;
        Transport = transport;
        Pump = Task.Run(() => connection.PumpAsync(metrics, _stop.Token), CancellationToken.None);
    }

    public SseConnection Connection { get; }

    public RecordingTransport Transport { get; }

    /// <summary>The writer; it ends when the connection is closed or this is disposed.</summary>
    public Task Pump { get; }

    /// <inheritdoc cref="RecordingTransport.WaitForAsync"/>
    public Task<string> WaitForAsync(string expected) => Transport.WaitForAsync(expected);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Pump.WaitAsync(HubTestKit.Wait);
        _stop.Dispose();
    }
}

/// <summary>A transport that keeps what it was flushed, for asserting the exact bytes a connection sent.</summary>
internal sealed class RecordingTransport : IConnectionTransport
{
    private readonly Lock _gate = new();
    private readonly MemoryStream _sent = new();
    private TaskCompletionSource _flushed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RecordingTransport()
    {
        Output = PipeWriter.Create(_sent, new StreamPipeWriterOptions(leaveOpen: true));
    }

    public PipeWriter Output { get; }

    public bool CanSendInline => false;

    /// <summary>Everything flushed so far, as text.</summary>
    public string Sent
    {
        get
        {
            lock (_gate)
            {
                return Encoding.UTF8.GetString(_sent.ToArray());
            }
        }
    }

    public bool TrySend() => throw new NotSupportedException("This transport only flushes.");

    public ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource flushed;
        bool canceled;
        lock (_gate)
        {
            // A MemoryStream takes writes synchronously, so the flush is complete when it returns.
            var flush = Output.FlushAsync(cancellationToken);
            if (!flush.IsCompleted)
            {
                throw new InvalidOperationException("A flush to memory should complete at once.");
            }

            canceled = flush.Result.IsCanceled;
            flushed = _flushed;
            _flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        flushed.TrySetResult();
        return ValueTask.FromResult(!canceled);
    }

    public void CancelPendingFlush() => Output.CancelPendingFlush();

    /// <summary>Waits (bounded by <see cref="HubTestKit.Wait"/>) until the bytes sent end with <paramref name="expected"/>; returns all of them.</summary>
    public async Task<string> WaitForAsync(string expected)
    {
        using var timeout = new CancellationTokenSource(HubTestKit.Wait);
        while (true)
        {
            Task next;
            string sent;
            lock (_gate)
            {
                next = _flushed.Task;
                sent = Encoding.UTF8.GetString(_sent.ToArray());
            }

            if (sent.EndsWith(expected, StringComparison.Ordinal))
            {
                return sent;
            }

            try
            {
                await next.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Not sent within {HubTestKit.Wait}: '{expected}'; sent: '{sent}'.");
            }
        }
    }
}
