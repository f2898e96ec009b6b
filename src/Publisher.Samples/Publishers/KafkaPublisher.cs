using System.Text;
using Confluent.Kafka;

namespace Publisher.Samples.Publishers;

/// <summary>
/// Publishing straight to the edge's Kafka topic, as any service can without the HTTP API:
/// key = the channel, value = the envelope JSON, an <c>edge-message-id</c> header so a retried
/// publish is delivered once, an idempotent producer with acks=all so "delivered" means stored,
/// and the murmur2 partitioner (the Java client's default) so the edge knows which partition
/// holds a channel.
/// </summary>
public sealed class KafkaPublisher(string bootstrapServers, string topic) : IEnvelopePublisher
{
    private readonly IProducer<string, byte[]> _producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
    {
        BootstrapServers = bootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
        Partitioner = Partitioner.Murmur2Random, // must match Edge:Broker:Kafka:Partitioner (default Murmur2)
        MessageTimeoutMs = 10_000,
    }).Build();

    public async Task PublishAsync(IReadOnlyList<Envelope> batch, CancellationToken cancellationToken)
    {
        var deliveries = new Task[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var record = new Message<string, byte[]>
            {
                Key = batch[i].Key,
                Value = batch[i].ToUtf8Json(),
                Headers = [new Header("edge-message-id", Encoding.UTF8.GetBytes(batch[i].Id))],
            };

            // Each completes once every in-sync replica has the record; throws ProduceException otherwise.
            deliveries[i] = _producer.ProduceAsync(topic, record, cancellationToken);
        }

        await Task.WhenAll(deliveries);
    }

    public ValueTask DisposeAsync()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
        return ValueTask.CompletedTask;
    }
}
