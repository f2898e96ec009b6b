using System.Text;

namespace Edge.Bench;

/// <summary>
/// Thread-safe latency histogram in microseconds: exact below 2,048 µs, then 1,024 sub-buckets per
/// power of two (error under 0.1 %). Mergeable across processes through <see cref="ToSparse"/>.
/// </summary>
internal sealed class Histogram
{
    private const int Linear = 2048;
    private const int SubBits = 10;
    private const int Size = Linear + (32 - 11) * (1 << SubBits);
    private readonly long[] _counts = new long[Size];
    private long _total;
    private long _max;

    public long Count => Interlocked.Read(ref _total);

    public long Max => Interlocked.Read(ref _max);

    public void Record(long micros)
    {
        if (micros < 0)
        {
            micros = 0;
        }

        if (micros > int.MaxValue)
        {
            micros = int.MaxValue;
        }

        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _total);
        long seen;
        while (micros > (seen = Interlocked.Read(ref _max)))
        {
            if (Interlocked.CompareExchange(ref _max, micros, seen) == seen)
            {
                break;
            }
        }
    }

    private static int Index(long v)
    {
        if (v < Linear)
        {
            return (int)v;
        }

        var msb = 63 - (int)long.LeadingZeroCount(v);
        var sub = (int)((v >> (msb - SubBits)) & ((1 << SubBits) - 1));
        return Linear + ((msb - 11) << SubBits) + sub;
    }

    private static long ValueOf(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var i = index - Linear;
        var msb = (i >> SubBits) + 11;
        var sub = i & ((1 << SubBits) - 1);
        return (1L << msb) + ((long)sub << (msb - SubBits));
    }

    public void Reset()
    {
        Array.Clear(_counts);
        Interlocked.Exchange(ref _total, 0);
        Interlocked.Exchange(ref _max, 0);
    }

    /// <summary>Percentile in milliseconds (0 when empty).</summary>
    public double PercentileMs(double p)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(p / 100.0 * total);
        if (rank < 1)
        {
            rank = 1;
        }

        long seen = 0;
        for (var i = 0; i < Size; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return ValueOf(i) / 1000.0;
            }
        }

        return Max / 1000.0;
    }

    public string ToSparse()
    {
        var sb = new StringBuilder();
        sb.Append(Max).Append(';');
        for (var i = 0; i < Size; i++)
        {
            var c = Interlocked.Read(ref _counts[i]);
            if (c != 0)
            {
                sb.Append(i).Append(':').Append(c).Append(',');
            }
        }

        return sb.ToString();
    }

    public void AddSparse(string sparse)
    {
        var parts = sparse.Split(';');
        var max = long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var pair in parts[1].Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            var idx = int.Parse(pair.AsSpan(0, colon), System.Globalization.CultureInfo.InvariantCulture);
            var c = long.Parse(pair.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture);
            _counts[idx] += c;
            _total += c;
        }

        if (max > _max)
        {
            _max = max;
        }
    }
}
