using System.Reflection;
using Edge.Brokers.Registration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Edge.Brokers.Kafka.Tests;

[Trait("Category", "Kafka")]
public sealed class KafkaBrokerOptionsTests
{
    [Fact]
    public void InvalidOptions_FailAtStart_WithEveryErrorNamingItsKey()
    {
        using var services = Build(new Dictionary<string, string?>
        {
            ["Edge:Broker:Kafka:BootstrapServers"] = "",
            ["Edge:Broker:Kafka:Topic"] = "bad topic!",
            ["Edge:Broker:Kafka:Partitions"] = "0",
            ["Edge:Broker:Kafka:ReplayConcurrency"] = "0",
            ["Edge:Broker:Kafka:PublishTimeout"] = "00:00:00",
            ["Edge:Broker:Kafka:Linger"] = "00:00:06",
            ["Edge:Broker:Kafka:Epoch"] = "Not-Valid",
            ["Edge:Broker:Kafka:SecurityProtocol"] = "carrier-pigeon",
            ["Edge:Broker:Kafka:SaslUsername"] = "edge",
            ["Edge:Broker:Kafka:Properties:acks"] = "1",
        });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        var text = string.Join("\n", error.Failures);
        foreach (var key in new[] { "BootstrapServers", "Topic", "Partitions", "ReplayConcurrency", "PublishTimeout", "Linger", "Epoch", "SecurityProtocol", "SaslPassword", "Properties:acks" })
        {
            Assert.Contains("Edge:Broker:Kafka:" + key, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("edge\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidOptions_BindFromTheEdgeSection_WithDocumentedDefaults()
    {
        await using var services = Build(new Dictionary<string, string?>
        {
            ["Edge:Broker:Kafka:BootstrapServers"] = "127.0.0.1:9092",
            ["Edge:Broker:Kafka:LookBack"] = "00:05:00",
            ["Edge:Broker:Kafka:Partitioner"] = "Crc32",
            ["Edge:Broker:Kafka:Properties:client.rack"] = "a",
        });

        services.GetRequiredService<IStartupValidator>().Validate();
        var options = services.GetRequiredService<IOptions<KafkaBrokerOptions>>().Value;

        Assert.Equal("127.0.0.1:9092", options.BootstrapServers);
        Assert.Equal("edge-events", options.Topic);
        Assert.True(options.CreateTopic);
        Assert.Equal(12, options.Partitions);
        Assert.Equal(TimeSpan.FromMinutes(5), options.LookBack);
        Assert.Equal(KafkaKeyPartitioner.Crc32, options.Partitioner);
        Assert.Equal(4, options.ReplayConcurrency);
        Assert.Equal("a", options.Properties["client.rack"]);
        await using var broker = Assert.IsType<KafkaBroker>(services.GetRequiredService<IEventBroker>());
    }

    [Fact]
    public void ToString_NeverShowsCredentialsOrPropertyValues()
    {
        var options = new KafkaBrokerOptions
        {
            BootstrapServers = "kafka:9093",
            SaslUsername = "edge-user",
            SaslPassword = "s3cret-password",
            Properties = { ["ssl.key.password"] = "another-s3cret" },
        };

        var text = options.ToString();

        Assert.Contains("kafka:9093", text, StringComparison.Ordinal);
        Assert.Contains("ssl.key.password", text, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("edge-user", text, StringComparison.Ordinal);
    }

    [Fact]
    public void AssemblyAttribute_NamesTheKafkaRegistration()
    {
        var attribute = Assert.Single(typeof(KafkaBroker).Assembly.GetCustomAttributes<EdgeBrokerAttribute>());
        Assert.Equal("Kafka", attribute.Type);
        Assert.True(typeof(IEdgeBrokerRegistration).IsAssignableFrom(attribute.Registration));
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        var builder = new TestEdgeBuilder(services, configuration.GetSection("Edge"));
        var attribute = typeof(KafkaBroker).Assembly.GetCustomAttribute<EdgeBrokerAttribute>()!;
        ((IEdgeBrokerRegistration)Activator.CreateInstance(attribute.Registration)!).Register(builder);
        return services.BuildServiceProvider();
    }

    private sealed record TestEdgeBuilder(IServiceCollection Services, IConfiguration Configuration) : IEdgeBuilder;
}
