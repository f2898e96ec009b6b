using System.ComponentModel;
using Publisher.Samples.Publishers;
using Spectre.Console.Cli;

namespace Publisher.Samples.Cli;

public sealed class HttpSettings : PublishSettings
{
    [CommandOption("--url <URL>")]
    [Description("the edge (default http://127.0.0.1:8080/)")]
    public string Url { get; init; } = "http://127.0.0.1:8080/";

    [CommandOption("--key <KEY>")]
    [Description("a key of Edge:Publish:ApiKeys (default $EDGE_PUBLISH_KEY, else config/edge.json's dev-publish-key)")]
    public string Key { get; init; } = Environment.GetEnvironmentVariable("EDGE_PUBLISH_KEY") ?? "dev-publish-key";
}

public sealed class HttpCommand : PublishCommand<HttpSettings>
{
    protected override string Describe(HttpSettings settings) => settings.Url;

    protected override Task<IEnvelopePublisher> ConnectAsync(HttpSettings settings, CancellationToken cancellationToken) =>
        Task.FromResult<IEnvelopePublisher>(new HttpPublisher(new Uri(settings.Url.EndsWith('/') ? settings.Url : settings.Url + "/"), settings.Key));
}

public sealed class RabbitMqSettings : PublishSettings
{
    [CommandOption("--uri <AMQP_URI>")]
    [Description("the broker (default $EDGE_RABBITMQ_URI, else amqp://guest:guest@localhost:5672/)")]
    public string Uri { get; init; } = Environment.GetEnvironmentVariable("EDGE_RABBITMQ_URI") ?? "amqp://guest:guest@localhost:5672/";

    [CommandOption("--stream <NAME>")]
    [Description("the edge's stream queue, Edge:Broker:RabbitMq:StreamName (default edge-events)")]
    public string Stream { get; init; } = "edge-events";

    [CommandOption("--exchange <NAME>")]
    [Description("publish to this exchange bound to the stream instead (Edge:Broker:RabbitMq:Exchange)")]
    public string? Exchange { get; init; }
}

public sealed class RabbitMqCommand : PublishCommand<RabbitMqSettings>
{
    protected override string Describe(RabbitMqSettings settings) => settings.Exchange is null ? "stream " + settings.Stream : "exchange " + settings.Exchange;

    protected override async Task<IEnvelopePublisher> ConnectAsync(RabbitMqSettings settings, CancellationToken cancellationToken) =>
        await RabbitMqPublisher.ConnectAsync(new Uri(settings.Uri), settings.Stream, settings.Exchange, cancellationToken);
}

public sealed class KafkaSettings : PublishSettings
{
    [CommandOption("--bootstrap <SERVERS>")]
    [Description("bootstrap servers (default $EDGE_KAFKA_BOOTSTRAP, else localhost:9092)")]
    public string Bootstrap { get; init; } = Environment.GetEnvironmentVariable("EDGE_KAFKA_BOOTSTRAP") ?? "localhost:9092";

    [CommandOption("--topic <TOPIC>")]
    [Description("the edge's topic, Edge:Broker:Kafka:Topic (default edge-events)")]
    public string Topic { get; init; } = "edge-events";
}

public sealed class KafkaCommand : PublishCommand<KafkaSettings>
{
    protected override string Describe(KafkaSettings settings) => "topic " + settings.Topic;

    protected override Task<IEnvelopePublisher> ConnectAsync(KafkaSettings settings, CancellationToken cancellationToken) =>
        Task.FromResult<IEnvelopePublisher>(new KafkaPublisher(settings.Bootstrap, settings.Topic));
}
