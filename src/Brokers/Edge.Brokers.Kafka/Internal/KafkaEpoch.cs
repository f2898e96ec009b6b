using System.Text;
using Confluent.Kafka;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// The log's epoch on Kafka: the topic id (a UUID that a deleted and re-created topic does not
/// keep) in base 36, so a cursor from a previous incarnation of the topic is recognised.
/// </summary>
internal static class KafkaEpoch
{
    private const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";

    /// <summary>The epoch from the topic id, or null when the cluster reports none (all zeros).</summary>
    public static string? FromTopicId(Uuid? topicId)
    {
        if (topicId is null || (topicId.MostSignificantBits == 0 && topicId.LeastSignificantBits == 0))
        {
            return null;
        }

        long high = topicId.MostSignificantBits;
        long low = topicId.LeastSignificantBits;
        var value = ((UInt128)unchecked((ulong)high) << 64) | unchecked((ulong)low);
        return ToBase36(value);
    }

    /// <summary>
    /// The fallback for clusters without topic ids: a stable hash of the topic name, prefixed
    /// with <c>n</c>. It cannot notice a re-created topic; configure <c>Epoch</c> for that.
    /// </summary>
    public static string FromTopicName(string topic)
    {
        var hash = 14695981039346656037ul;
        foreach (var b in Encoding.UTF8.GetBytes(topic))
        {
            hash = unchecked((hash ^ b) * 1099511628211ul);
        }

        return "n" + ToBase36(hash);
    }

    private static string ToBase36(UInt128 value)
    {
        Span<char> text = stackalloc char[25];
        var i = text.Length;
        do
        {
            text[--i] = Digits[(int)(value % 36)];
            value /= 36;
        }
        while (value != 0);

        return new string(text[i..]);
    }
}
