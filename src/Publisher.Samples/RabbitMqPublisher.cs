using System.Text.Json;
using RabbitMQ.Client;

namespace Publisher.Samples;

/// <summary>
/// Publishes envelopes straight to the edge's RabbitMQ stream, as any service can without the
/// edge's HTTP API: body = the envelope JSON, content type application/json, a message_id so a
/// retried publish is recognised as a duplicate, and publisher confirms so "sent" means stored.
/// </summary>
public static class RabbitMqPublisher
{
    public static async Task<int> RunAsync(string[] args)
    {
        var uri = args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("EDGE_RABBITMQ_URI") ?? "amqp://guest:guest@localhost:5672/";
        var target = args.Length > 1 ? args[1] : "edge-events";
        var count = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1;

        // To the stream through the default exchange, or to an exchange bound to it ("exchange:edge-events").
        var (exchange, routingKey) = target.StartsWith("exchange:", StringComparison.Ordinal) ? (target["exchange:".Length..], string.Empty) : (string.Empty, target);

        var factory = new ConnectionFactory { Uri = new Uri(uri) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));

        for (var i = 0; i < count; i++)
        {
            var envelope = new { channel = "orders", @event = "notification", data = new { message = $"Order #{12345 + i} shipped" }, userId = "12345" };
            var properties = new BasicProperties
            {
                MessageId = Guid.NewGuid().ToString("N"), // keep the same id when retrying this message
                ContentType = "application/json",
                DeliveryMode = DeliveryModes.Persistent,
            };

            // Completes once the broker confirmed; throws if it refused or could not route the message.
            await channel.BasicPublishAsync(exchange, routingKey, mandatory: true, properties, JsonSerializer.SerializeToUtf8Bytes(envelope));
            Console.WriteLine($"published {properties.MessageId} to {(exchange.Length > 0 ? "exchange " + exchange : "stream " + routingKey)}");
        }

        return 0;
    }
}
