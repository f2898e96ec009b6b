using Publisher.Samples.Cli;
using Spectre.Console.Cli;

namespace Publisher.Samples;

/// <summary>The CLI: <c>publisher &lt;http|rabbitmq|kafka&gt; [scenario] [options]</c>, and <c>scenarios</c>.</summary>
public static class PublisherCli
{
    public static Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("dotnet run --project src/Publisher.Samples --");
            config.AddCommand<HttpCommand>("http").WithDescription("publish through the edge's HTTP API (POST /_edge/publish)")
                .WithExample("http", "orders").WithExample("http", "sync", "--session", "abc123").WithExample("http", "notification", "--rate", "20", "--duration", "30");
            config.AddCommand<RabbitMqCommand>("rabbitmq").WithDescription("publish to the edge's RabbitMQ stream (or an exchange bound to it)")
                .WithExample("rabbitmq", "orders", "--uri", "amqp://guest:guest@localhost:5672/");
            config.AddCommand<KafkaCommand>("kafka").WithDescription("publish to the edge's Kafka topic (key = channel)")
                .WithExample("kafka", "chat", "--bootstrap", "localhost:9092");
            config.AddCommand<ScenariosCommand>("scenarios").WithDescription("list the scenarios");
        });
        return app.RunAsync(args, cancellationToken);
    }
}
