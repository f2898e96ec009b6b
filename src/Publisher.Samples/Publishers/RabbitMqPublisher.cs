using RabbitMQ.Client;

namespace Publisher.Samples.Publishers;

/// <summary>
/// Publishing straight to the edge's RabbitMQ stream, as any service can without the HTTP API:
/// body = the envelope JSON, a message_id so a retried publish is delivered once, and publisher
/// confirms so "sent" means stored. The target is the stream (through the default exchange) or
/// an exchange bound to it.
/// </summary>
public sealed class RabbitMqPublisher : IEnvelopePublisher
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly string _exchange;
    private readonly string _routingKey;

    private RabbitMqPublisher(IConnection connection, IChannel channel, string exchange, string routingKey)
    {
        (_connection, _channel, _exchange, _routingKey) = (connection, channel, exchange, routingKey);
    }

    /// <param name="exchange">An exchange bound to the stream; null publishes to <paramref name="stream"/> directly.</param>
    public static async Task<RabbitMqPublisher> ConnectAsync(Uri uri, string stream, string? exchange, CancellationToken cancellationToken)
    {
        var connection = await new ConnectionFactory { Uri = uri }.CreateConnectionAsync(cancellationToken);
        var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        return exchange is null ? new(connection, channel, string.Empty, stream) : new(connection, channel, exchange, string.Empty);
    }

    public async Task PublishAsync(IReadOnlyList<Envelope> batch, CancellationToken cancellationToken)
    {
        foreach (var envelope in batch)
        {
            var properties = new BasicProperties { MessageId = envelope.Id, ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };

            // Completes once the broker confirmed; throws if it refused or could not route the message.
            await _channel.BasicPublishAsync(_exchange, _routingKey, mandatory: true, properties, envelope.ToUtf8Json(), cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
