using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Testcontainers.Kafka;
using Xunit;

namespace Edge.Brokers.Kafka.Tests.TestSupport;

/// <summary>
/// The Kafka cluster the tests run against, in order of preference: the one named by
/// <c>EDGE_KAFKA_BOOTSTRAP</c>; a Testcontainers Kafka where a Docker engine answers; else
/// librdkafka's mock cluster on loopback. Finding none is a failure, never a skip.
/// </summary>
public sealed class KafkaFixture : IAsyncLifetime
{
    public const string BootstrapVariable = "EDGE_KAFKA_BOOTSTRAP";

    private LibRdKafkaMock? _mock;
    private KafkaContainer? _container;
    private IAdminClient? _admin;
    private IProducer<string, byte[]>? _rawProducer;

    public string BootstrapServers { get; private set; } = "";

    /// <summary><c>external</c>, <c>testcontainers</c> or <c>mock</c>.</summary>
    public string Kind { get; private set; } = "";

    public bool IsMock => _mock is not null;

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(BootstrapVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            BootstrapServers = external;
            Kind = "external";
        }
        else if (await TryStartContainerAsync())
        {
            Kind = "testcontainers";
        }
        else
        {
            _mock = new LibRdKafkaMock(brokers: 3);
            BootstrapServers = _mock.BootstrapServers;
            Kind = "mock";
        }

        _admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        _rawProducer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            // What a Java publisher does: murmur2 on the key.
            Partitioner = Partitioner.Murmur2Random,
            LingerMs = 1,
        }).SetLogHandler((_, _) => { }).Build();

        // Fail here, clearly, when the cluster does not answer.
        var metadata = _admin.GetMetadata(TimeSpan.FromSeconds(20));
        Assert.True(metadata.Brokers.Count > 0, $"the Kafka cluster at {BootstrapServers} ({Kind}) reports no brokers");
    }

    public async Task DisposeAsync()
    {
        _rawProducer?.Dispose();
        _admin?.Dispose();
        _mock?.Dispose();
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }

    public static string NewTopicName(string prefix = "edge-test") => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    public async Task CreateTopicAsync(string topic, int partitions)
    {
        if (_mock is not null)
        {
            _mock.CreateTopic(topic, partitions);
            return;
        }

        try
        {
            await _admin!.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = -1 }]);
        }
        catch (CreateTopicsException e) when (e.Results[0].Error.Code == ErrorCode.TopicAlreadyExists)
        {
        }
    }

    /// <summary>
    /// Raises the partition count. Kafka does it in place (CreatePartitions); the mock cluster
    /// cannot, so there the topic is deleted and created again with more partitions (which also
    /// gives it a new topic id).
    /// </summary>
    public async Task IncreasePartitionsAsync(string topic, int partitions)
    {
        if (_mock is not null)
        {
            _mock.DeleteTopic(topic);
            _mock.CreateTopic(topic, partitions);
            return;
        }

        await _admin!.CreatePartitionsAsync([new PartitionsSpecification { Topic = topic, IncreaseTo = partitions }]);
    }

    /// <summary>Deletes the topic and creates it again: its history is lost.</summary>
    public async Task RecreateTopicAsync(string topic, int partitions)
    {
        if (_mock is not null)
        {
            _mock.DeleteTopic(topic);
            _mock.CreateTopic(topic, partitions);
            return;
        }

        await _admin!.DeleteTopicsAsync([topic]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await _admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = -1 }]);
                return;
            }
            catch (CreateTopicsException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
        }
    }

    /// <summary>Appends raw bytes (null: a tombstone) as a broker-native Java-compatible publisher would.</summary>
    public Task<DeliveryResult<string, byte[]>> PublishRawAsync(string topic, string channel, byte[]? body, CancellationToken cancellationToken) =>
        _rawProducer!.ProduceAsync(topic, new Message<string, byte[]> { Key = channel, Value = body! }, cancellationToken);

    public KafkaBroker CreateBroker(string topic, Action<KafkaBrokerOptions>? configure = null, ILogger<KafkaBroker>? logger = null) =>
        CreateBroker(BootstrapServers, topic, configure, logger);

    public static KafkaBroker CreateBroker(string bootstrapServers, string topic, Action<KafkaBrokerOptions>? configure = null, ILogger<KafkaBroker>? logger = null)
    {
        var options = new KafkaBrokerOptions
        {
            BootstrapServers = bootstrapServers,
            Topic = topic,
            Partitions = 3,
            ReplicationFactor = -1,
            MetadataRefreshInterval = TimeSpan.FromSeconds(1),
            PublishTimeout = TimeSpan.FromSeconds(10),
            RequestTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        return new KafkaBroker(Options.Create(options), logger ?? NullLogger<KafkaBroker>.Instance, TimeProvider.System);
    }

    private async Task<bool> TryStartContainerAsync()
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrEmpty(dockerHost) && !File.Exists("/var/run/docker.sock"))
        {
            return false;
        }

        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var container = new KafkaBuilder("confluentinc/cp-kafka:7.6.1").Build();
            await container.StartAsync(cts.Token);
            _container = container;
            BootstrapServers = container.GetBootstrapAddress();
            return true;
        }
        catch (Exception)
        {
            // The socket is there but no engine answers: use the mock cluster.
            return false;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class KafkaCollection : ICollectionFixture<KafkaFixture>
{
    public const string Name = "Kafka";
}
