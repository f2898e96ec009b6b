using Edge.Brokers.Kafka.Tests.TestSupport;

namespace Edge.Reliability;

/// <summary>What every scenario shares: the edge build, scratch folder, brokers, scale and ports.</summary>
internal sealed class RunContext : IDisposable
{
    private LibRdKafkaMock? _kafkaMock;
    private int _nextPort;

    public required string EdgeDll { get; init; }

    public required string EdgeConfig { get; init; }

    public required string WorkDir { get; init; }

    public required bool Quick { get; init; }

    public required string RabbitMqUri { get; init; }

    /// <summary>A real Kafka cluster (EDGE_KAFKA_BOOTSTRAP); null = librdkafka's mock cluster in this process.</summary>
    public string? KafkaBootstrap { get; init; }

    public required int PortBase { get; init; }

    public string RunId { get; } = DateTime.UtcNow.ToString("HHmmss", System.Globalization.CultureInfo.InvariantCulture) + Guid.NewGuid().ToString("N")[..4];

    public int NextPort() => PortBase + Interlocked.Increment(ref _nextPort);

    /// <summary>The mock cluster (one broker) this process hosts, created on first use.</summary>
    public LibRdKafkaMock KafkaMock => _kafkaMock ??= new LibRdKafkaMock(brokers: 1);

    public string KafkaServers => KafkaBootstrap ?? KafkaMock.BootstrapServers;

    /// <summary>The edge's broker arguments for one scenario's own log (a stream or topic of its own).</summary>
    public IReadOnlyList<string> BrokerArgs(string broker, string log, string? rabbitUri = null) => broker switch
    {
        "rabbitmq" =>
        [
            "--Edge:Broker:Type=RabbitMq",
            $"--Edge:Broker:RabbitMq:Uri={rabbitUri ?? RabbitMqUri}",
            $"--Edge:Broker:RabbitMq:StreamName={log}",
            $"--Edge:Broker:RabbitMq:Exchange={log}",
            "--Edge:Broker:RabbitMq:ReconnectDelayMax=00:00:02",
            "--Edge:Broker:RabbitMq:Heartbeat=00:00:05",
        ],
        "kafka" =>
        [
            "--Edge:Broker:Type=Kafka",
            $"--Edge:Broker:Kafka:BootstrapServers={KafkaServers}",
            $"--Edge:Broker:Kafka:Topic={log}",
            "--Edge:Broker:Kafka:Partitions=4",
            "--Edge:Broker:Kafka:MetadataRefreshInterval=00:00:01",
            "--Edge:Broker:Kafka:RequestTimeout=00:00:05",
        ],
        _ => throw new ArgumentException($"unknown broker {broker}"),
    };

    /// <summary>Creates the topic on the mock cluster (the edge's CreateTopic needs a controller the mock has).</summary>
    public void PrepareLog(string broker, string log)
    {
        if (broker == "kafka" && KafkaBootstrap is null)
        {
            KafkaMock.CreateTopic(log, 4);
        }
    }

    public void Dispose() => _kafkaMock?.Dispose();
}
