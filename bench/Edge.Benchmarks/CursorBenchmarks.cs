using BenchmarkDotNet.Attributes;
using Edge.Brokers.Cursors;

namespace Edge.Benchmarks;

/// <summary>Cursor text: written per connection for multi-partition streams, parsed per resume.</summary>
[MemoryDiagnoser]
public class CursorBenchmarks
{
    private readonly byte[] _buffer = new byte[256];
    private readonly int[] _partitions = [0, 3, 7];
    private readonly long[] _offsets = [123456, 98765, 4567];

    [Benchmark]
    public int WriteThreePartitions() => EventCursor.Write(_buffer, "k2f9x1q"u8, _partitions, _offsets);

    [Benchmark]
    public bool ParseSingle() => EventCursor.TryParse("k2f9x1q-123456", out _);

    [Benchmark]
    public bool ParseThreePartitions() => EventCursor.TryParse("k2f9x1q-0.123456_3.98765_7.4567", out _);

    [Benchmark]
    public bool ParseGarbage() => EventCursor.TryParse("1642678901234", out _);
}
