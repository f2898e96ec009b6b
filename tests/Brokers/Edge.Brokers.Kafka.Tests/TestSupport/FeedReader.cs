using System.Text;
using Xunit;

namespace Edge.Brokers.Kafka.Tests.TestSupport;

/// <summary>A record copied out of a feed (bodies are only valid until the next read).</summary>
public sealed record ReceivedRecord(int Partition, long Offset, byte[] Body, string? MessageId)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public static ReceivedRecord From(BrokerRecord record) => new(record.Partition, record.Offset, record.Body.ToArray(), record.MessageId);
}

internal static class FeedReader
{
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Reads exactly <paramref name="count"/> records, each within <see cref="ReadTimeout"/>.</summary>
    public static async Task<List<ReceivedRecord>> ReadAsync(IAsyncEnumerator<BrokerRecord> feed, int count, CancellationToken cancellationToken)
    {
        var received = new List<ReceivedRecord>(count);
        while (received.Count < count)
        {
            Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(ReadTimeout, cancellationToken), "the feed ended");
            received.Add(ReceivedRecord.From(feed.Current));
        }

        return received;
    }

    public static BrokerMessage Message(string channel, string text, string? id = null)
    {
        id ??= Guid.NewGuid().ToString("N");
        var body = Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","channel":"{{channel}}","event":"message","data":"{{text}}"}""");
        return new BrokerMessage(channel, id, body);
    }

    public static string DataOf(string envelopeJson)
    {
        using var document = System.Text.Json.JsonDocument.Parse(envelopeJson);
        return document.RootElement.GetProperty("data").GetString()!;
    }

    public static string ChannelOf(string envelopeJson)
    {
        using var document = System.Text.Json.JsonDocument.Parse(envelopeJson);
        return document.RootElement.GetProperty("channel").GetString()!;
    }
}
