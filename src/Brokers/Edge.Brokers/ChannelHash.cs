using System.Text;

namespace Edge.Brokers;

/// <summary>A stable hash of channel names (FNV-1a over UTF-8), the same in every process.</summary>
public static class ChannelHash
{
    public static uint Fnv1a(string channel)
    {
        Span<byte> stackBuffer = stackalloc byte[256];
        var max = Encoding.UTF8.GetMaxByteCount(channel.Length);
        var bytes = max <= stackBuffer.Length ? stackBuffer : new byte[max];
        var length = Encoding.UTF8.GetBytes(channel, bytes);
        var hash = 2166136261u;
        foreach (var b in bytes[..length])
        {
            hash = unchecked((hash ^ b) * 16777619u);
        }

        return hash;
    }

    /// <summary>The partition among <paramref name="partitionCount"/> that holds <paramref name="channel"/>.</summary>
    public static int Partition(string channel, int partitionCount) =>
        partitionCount <= 1 ? 0 : (int)(Fnv1a(channel) % (uint)partitionCount);
}
