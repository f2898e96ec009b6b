using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// An event as a Kafka record: key = the channel, value = the envelope JSON, header
/// <c>edge-message-id</c> = the message id.
/// </summary>
internal static class KafkaRecordFormat
{
    public const string MessageIdHeader = "edge-message-id";

    public static Message<string, byte[]> ToMessage(BrokerMessage message) => new()
    {
        Key = message.Channel,
        Value = AsArray(message.Body),
        Headers = [new Header(MessageIdHeader, Encoding.UTF8.GetBytes(message.MessageId))],
    };

    public static BrokerRecord ToRecord(ConsumeResult<Ignore, byte[]> result)
    {
        string? messageId = null;
        if (result.Message.Headers is { Count: > 0 } headers && headers.TryGetLastBytes(MessageIdHeader, out var idBytes))
        {
            messageId = Encoding.UTF8.GetString(idBytes);
        }

        return new BrokerRecord(
            result.Partition.Value,
            result.Offset.Value,
            DateTimeOffset.FromUnixTimeMilliseconds(result.Message.Timestamp.UnixTimestampMs),
            result.Message.Value ?? [],
            messageId);
    }

    private static byte[] AsArray(ReadOnlyMemory<byte> body) =>
        MemoryMarshal.TryGetArray(body, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : body.ToArray();
}
