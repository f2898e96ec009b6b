using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Edge.Brokers;
using Edge.Brokers.Envelopes;
using Edge.Sse;

namespace Edge.Benchmarks;

/// <summary>Parsing a broker record and encoding it once: the per-event cost every instance pays once.</summary>
[MemoryDiagnoser]
public class FramingBenchmarks
{
    private readonly ArrayBufferWriter<byte> _scratch = new(4096);
    private byte[] _json = [];
    private EventEnvelope _envelope = null!;

    [GlobalSetup]
    public void Setup()
    {
        _json = Encoding.UTF8.GetBytes("""{"id":"01a20d9475167c5aa754167f3710b22a","channel":"orders","event":"notification","data":{"type":"notification","notificationType":"success","title":"Order Completed","message":"Your order #12345 has been shipped"}}""");
        EnvelopeParser.TryParse(_json, out var envelope, out _);
        _envelope = envelope!;
    }

    [Benchmark]
    public bool ParseEnvelope() => EnvelopeParser.TryParse(_json, out _, out _);

    [Benchmark]
    public int EncodeFrame() => SseFrameEncoder.Encode(_envelope, "k2f9x1q", new BrokerRecord(0, 123456, DateTimeOffset.UnixEpoch, _json), _scratch).Frame.Length;
}
