using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Text;
using BenchmarkDotNet.Attributes;
using Edge.Brokers;
using Edge.Brokers.InMemory;
using Edge.Configuration;
using Edge.Connections;
using Edge.Diagnostics;
using Edge.Hub;
using Edge.Sse;
using Edge.Streams;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Edge.Benchmarks;

/// <summary>
/// The feed's cost per record (parse, encode once, keep in the window, hand to the dispatch
/// shards) and the dispatch of one event to every subscriber of its channel (queues only;
/// writing to sockets is measured by the load tool).
/// </summary>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private EventHub _hub = null!;
    private SseConnection[] _connections = [];
    private byte[] _body = [];
    private PreparedEvent _prepared = null!;
    private long _offset;

    [Params(1, 1000, 10000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = Options.Create(new EdgeOptions { Replay = { DeduplicationIds = 0 } });
        var broker = new InMemoryBroker(new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System));
        _hub = new EventHub(broker, options, new EdgeMetrics(new NullMeterFactory()), TimeProvider.System, NullLogger<EventHub>.Instance);
        _hub.RunAsync(CancellationToken.None).GetAwaiter();
        _hub.WhenOpen.GetAwaiter().GetResult();
        var stream = new StreamDefinition("bench", new StreamOptions { Path = "/events", QueueCapacity = 1 << 20 });
        _connections = Enumerable.Range(0, Subscribers)
            .Select(_ => _hub.Connect(stream, null, null, ["orders"], new Edge.Connections.PipeWriterTransport(PipeWriter.Create(Stream.Null))))
            .ToArray();
        _body = Encoding.UTF8.GetBytes("""{"channel":"orders","event":"update","data":{"entity":"order","action":"updated","payload":{"orderId":12345}}}""");
        _offset = 1_000_000;
        _prepared = new PreparedEvent(0, long.MaxValue / 2, "orders", null, null, null, 0, Encoding.UTF8.GetBytes("data: {}\nid: x-1\n\n"), 9);
    }

    [Benchmark]
    public void Ingest() => _hub.Ingest(new BrokerRecord(0, _offset++, DateTimeOffset.UtcNow, _body));

    [Benchmark]
    public void Dispatch() => _hub.DispatchNow(_prepared);

    private sealed class NullMeterFactory : IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
