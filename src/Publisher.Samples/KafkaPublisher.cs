using System.Text;
using System.Text.Json;
using Confluent.Kafka;

namespace Publisher.Samples;

/// <summary>
/// Publishes envelopes straight to the edge's Kafka topic, as any service can without the
/// edge's HTTP API: key = the channel, value = the envelope JSON, an <c>edge-message-id</c>
/// header so a retried publish is recognised as a duplicate, an idempotent producer with
/// acks=all so "delivered" means stored, and the murmur2 partitioner (the Java client's
/// default) so the edge knows which partition holds a channel.
/// </summary>
public static class KafkaPublisher
{
    /// <summary>Arguments: [bootstrap servers] [topic] [count].</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var bootstrap = args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("EDGE_KAFKA_BOOTSTRAP") ?? "localhost:9092";
        var topic = args.Length > 1 ? args[1] : "edge-events";
        var count = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1;

        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            EnableIdempotence = true,
            Acks = Acks.All,
            Partitioner = Partitioner.Murmur2Random, // must match Edge:Broker:Kafka:Partitioner (default Murmur2)
            MessageTimeoutMs = 10_000,
        };
        using var producer = new ProducerBuilder<string, byte[]>(config).Build();

        for (var i = 0; i < count; i++)
        {
            var envelope = new { channel = "orders", @event = "notification", data = new { message = $"Order #{12345 + i} shipped" }, userId = "12345" };
            var messageId = Guid.NewGuid().ToString("N"); // keep the same id when retrying this message
            var record = new Message<string, byte[]>
            {
                Key = envelope.channel,
                Value = JsonSerializer.SerializeToUtf8Bytes(envelope),
                Headers = [new Header("edge-message-id", Encoding.UTF8.GetBytes(messageId))],
            };

            // Completes once every in-sync replica has the record; throws ProduceException otherwise.
            var delivered = await producer.ProduceAsync(topic, record);
            Console.WriteLine($"published {messageId} to {delivered.TopicPartitionOffset}");
        }

        return 0;
    }
}
