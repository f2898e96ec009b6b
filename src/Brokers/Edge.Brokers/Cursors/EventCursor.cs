using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Edge.Brokers.Cursors;

/// <summary>
/// A resume cursor: the log's epoch and, for each partition a connection reads, the offset the
/// connection will read next. It is what every event's <c>id:</c> carries, so a client can
/// resume exactly on any instance.
/// </summary>
/// <remarks>
/// Text form (URL-safe, no escaping needed):
/// <code>
/// cursor    = epoch "-" position *( "_" position )
/// position  = offset / partition "." offset      ; a bare offset means partition 0
/// epoch     = 1*32( %x30-39 / %x61-7A )         ; [0-9a-z]
/// </code>
/// Examples: <c>k2f9x1-42</c> (partition 0, next offset 42), <c>k2f9x1-0.42_3.17_7.9</c>.
/// Positions are sorted by partition and never repeat one.
/// </remarks>
public sealed class EventCursor
{
    /// <summary>Longest cursor text accepted; anything longer is treated as malformed.</summary>
    public const int MaxLength = 4096;

    /// <summary>Most partitions a cursor may name.</summary>
    public const int MaxPartitions = 512;

    public const int MaxEpochLength = 32;

    private readonly LogPosition[] _positions;

    public EventCursor(string epoch, IEnumerable<LogPosition> positions)
    {
        if (!IsValidEpoch(epoch))
        {
            throw new ArgumentException($"Epoch '{epoch}' must be 1 to {MaxEpochLength} characters from [0-9a-z].", nameof(epoch));
        }

        var sorted = positions.ToArray();
        Array.Sort(sorted, static (a, b) => a.Partition.CompareTo(b.Partition));
        for (var i = 0; i < sorted.Length; i++)
        {
            if (sorted[i].Partition < 0 || sorted[i].Offset < 0)
            {
                throw new ArgumentException("Partitions and offsets must not be negative.", nameof(positions));
            }

            if (i > 0 && sorted[i].Partition == sorted[i - 1].Partition)
            {
                throw new ArgumentException($"Partition {sorted[i].Partition} appears twice.", nameof(positions));
            }
        }

        if (sorted.Length == 0)
        {
            throw new ArgumentException("A cursor names at least one partition.", nameof(positions));
        }

        Epoch = epoch;
        _positions = sorted;
    }

    public string Epoch { get; }

    /// <summary>Positions sorted by partition.</summary>
    public IReadOnlyList<LogPosition> Positions => _positions;

    /// <summary>The next offset to read on <paramref name="partition"/>, when the cursor names it.</summary>
    public bool TryGetOffset(int partition, out long offset)
    {
        foreach (var position in _positions)
        {
            if (position.Partition == partition)
            {
                offset = position.Offset;
                return true;
            }
        }

        offset = 0;
        return false;
    }

    public static bool IsValidEpoch([NotNullWhen(true)] string? epoch)
    {
        if (string.IsNullOrEmpty(epoch) || epoch.Length > MaxEpochLength)
        {
            return false;
        }

        foreach (var c in epoch)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'z')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses a cursor; any malformed or oversized text yields false, never an exception.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out EventCursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength)
        {
            return false;
        }

        var span = text.AsSpan();
        var dash = span.IndexOf('-');
        if (dash <= 0 || dash > MaxEpochLength || dash == span.Length - 1)
        {
            return false;
        }

        var epoch = text[..dash];
        if (!IsValidEpoch(epoch))
        {
            return false;
        }

        var rest = span[(dash + 1)..];
        var positions = new List<LogPosition>();
        var lastPartition = -1;
        while (true)
        {
            if (positions.Count >= MaxPartitions)
            {
                return false;
            }

            var underscore = rest.IndexOf('_');
            var segment = underscore < 0 ? rest : rest[..underscore];
            if (!TryParsePosition(segment, out var position) || position.Partition <= lastPartition)
            {
                return false;
            }

            positions.Add(position);
            lastPartition = position.Partition;
            if (underscore < 0)
            {
                break;
            }

            rest = rest[(underscore + 1)..];
        }

        cursor = new EventCursor(epoch, positions);
        return true;
    }

    private static bool TryParsePosition(ReadOnlySpan<char> segment, out LogPosition position)
    {
        position = default;
        var dot = segment.IndexOf('.');
        int partition = 0;
        var offsetText = segment;
        if (dot >= 0)
        {
            if (!TryParseDigits(segment[..dot], int.MaxValue, out var p))
            {
                return false;
            }

            partition = (int)p;
            offsetText = segment[(dot + 1)..];
        }

        if (!TryParseDigits(offsetText, long.MaxValue, out var offset))
        {
            return false;
        }

        position = new LogPosition(partition, offset);
        return true;
    }

    private static bool TryParseDigits(ReadOnlySpan<char> text, long max, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 19)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value <= max;
    }

    public override string ToString()
    {
        var builder = new StringBuilder(Epoch.Length + 1 + (_positions.Length * 8));
        builder.Append(Epoch).Append('-');
        for (var i = 0; i < _positions.Length; i++)
        {
            if (i > 0)
            {
                builder.Append('_');
            }

            AppendPosition(builder, _positions[i], forceExplicitPartition: _positions.Length > 1);
        }

        return builder.ToString();
    }

    /// <summary>The cursor of a single position, as written for a connection that reads one partition.</summary>
    public static string Format(string epoch, LogPosition position)
    {
        var builder = new StringBuilder(epoch.Length + 24);
        builder.Append(epoch).Append('-');
        AppendPosition(builder, position, forceExplicitPartition: false);
        return builder.ToString();
    }

    /// <summary>
    /// Writes the cursor for positions given as parallel, partition-sorted arrays into
    /// <paramref name="destination"/> (ASCII), returning the bytes written, or -1 if too small.
    /// Used on the per-connection hot path without allocating.
    /// </summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> epochAscii, ReadOnlySpan<int> partitions, ReadOnlySpan<long> offsets)
    {
        var written = 0;
        if (!TryCopy(epochAscii, destination, ref written) || !TryPut((byte)'-', destination, ref written))
        {
            return -1;
        }

        var explicitPartition = partitions.Length > 1 || (partitions.Length == 1 && partitions[0] != 0);
        for (var i = 0; i < partitions.Length; i++)
        {
            if (i > 0 && !TryPut((byte)'_', destination, ref written))
            {
                return -1;
            }

            if (explicitPartition)
            {
                if (!partitions[i].TryFormat(destination[written..], out var n, default, CultureInfo.InvariantCulture))
                {
                    return -1;
                }

                written += n;
                if (!TryPut((byte)'.', destination, ref written))
                {
                    return -1;
                }
            }

            if (!offsets[i].TryFormat(destination[written..], out var m, default, CultureInfo.InvariantCulture))
            {
                return -1;
            }

            written += m;
        }

        return written;
    }

    private static bool TryCopy(ReadOnlySpan<byte> source, Span<byte> destination, ref int written)
    {
        if (!source.TryCopyTo(destination[written..]))
        {
            return false;
        }

        written += source.Length;
        return true;
    }

    private static bool TryPut(byte value, Span<byte> destination, ref int written)
    {
        if (written >= destination.Length)
        {
            return false;
        }

        destination[written++] = value;
        return true;
    }

    private static void AppendPosition(StringBuilder builder, LogPosition position, bool forceExplicitPartition)
    {
        if (forceExplicitPartition || position.Partition != 0)
        {
            builder.Append(position.Partition.ToString(CultureInfo.InvariantCulture)).Append('.');
        }

        builder.Append(position.Offset.ToString(CultureInfo.InvariantCulture));
    }
}
