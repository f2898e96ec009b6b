using System.Text;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>The partition of a keyed record, computed exactly as the producers compute it.</summary>
internal static class KafkaPartitioning
{
    private static readonly uint[] Crc32Table = BuildCrc32Table();

    public static int Partition(KafkaKeyPartitioner partitioner, string key, int partitionCount)
    {
        if (partitionCount <= 1)
        {
            return 0;
        }

        Span<byte> stackBuffer = stackalloc byte[256];
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        var bytes = max <= stackBuffer.Length ? stackBuffer : new byte[max];
        var length = Encoding.UTF8.GetBytes(key, bytes);
        return Partition(partitioner, bytes[..length], partitionCount);
    }

    public static int Partition(KafkaKeyPartitioner partitioner, ReadOnlySpan<byte> key, int partitionCount) =>
        partitionCount <= 1
            ? 0
            : partitioner == KafkaKeyPartitioner.Crc32
                ? (int)(Crc32(key) % (uint)partitionCount)
                : (int)((Murmur2(key) & 0x7fffffff) % (uint)partitionCount);

    /// <summary>Kafka's murmur2 (<c>org.apache.kafka.common.utils.Utils.murmur2</c>), as an unsigned value.</summary>
    public static uint Murmur2(ReadOnlySpan<byte> data)
    {
        const uint m = 0x5bd1e995;
        const int r = 24;
        var length = data.Length;
        var h = 0x9747b28cu ^ (uint)length;
        var length4 = length / 4;
        for (var i = 0; i < length4; i++)
        {
            var i4 = i * 4;
            var k = data[i4] | ((uint)data[i4 + 1] << 8) | ((uint)data[i4 + 2] << 16) | ((uint)data[i4 + 3] << 24);
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }

        var tail = length & ~3;
        switch (length % 4)
        {
            case 3:
                h ^= (uint)data[tail + 2] << 16;
                h ^= (uint)data[tail + 1] << 8;
                h ^= data[tail];
                h *= m;
                break;
            case 2:
                h ^= (uint)data[tail + 1] << 8;
                h ^= data[tail];
                h *= m;
                break;
            case 1:
                h ^= data[tail];
                h *= m;
                break;
        }

        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return h;
    }

    /// <summary>CRC-32 (IEEE 802.3), as librdkafka's <c>rd_crc32</c>.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = Crc32Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrc32Table()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
