using Edge.Brokers.RabbitMq.Internal;
using Edge.Brokers.Registration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace Edge.Brokers.RabbitMq.Tests.Options;

[Trait("Category", "RabbitMq")]
public sealed class RabbitMqBrokerOptionsTests
{
    [Fact]
    public void Defaults_AreValid()
    {
        Assert.Empty(RabbitMqBrokerOptionsValidator.Collect(new RabbitMqBrokerOptions()));
    }

    [Fact]
    public void Validate_ReportsEveryErrorAtOnce_EachNamingItsKey()
    {
        var options = new RabbitMqBrokerOptions
        {
            Uri = "http://user:secret@host/",
            StreamName = "amq.events",
            Prefetch = 0,
            MaxAge = TimeSpan.FromMilliseconds(10),
            MaxLengthBytes = -1,
            MaxSegmentSizeBytes = 4_000_000_000,
            LookBack = new RabbitMqLookBackOptions { Count = 10, Age = TimeSpan.FromMinutes(1) },
            Tls = new RabbitMqTlsOptions { ClientCertificatePath = "/nonexistent/cert.pfx" },
            ReconnectDelayMin = TimeSpan.FromSeconds(5),
            ReconnectDelayMax = TimeSpan.FromSeconds(1),
            ReplayConcurrency = 0,
            PublishTimeout = TimeSpan.Zero,
        };

        var errors = RabbitMqBrokerOptionsValidator.Collect(options);

        string[] keys =
        [
            "Edge:Broker:RabbitMq:Uri", "Edge:Broker:RabbitMq:StreamName", "Edge:Broker:RabbitMq:Prefetch",
            "Edge:Broker:RabbitMq:MaxAge", "Edge:Broker:RabbitMq:MaxLengthBytes", "Edge:Broker:RabbitMq:MaxSegmentSizeBytes",
            "Edge:Broker:RabbitMq:LookBack:Count", "Edge:Broker:RabbitMq:Tls:ClientCertificatePath",
            "Edge:Broker:RabbitMq:ReconnectDelayMax", "Edge:Broker:RabbitMq:ReplayConcurrency", "Edge:Broker:RabbitMq:PublishTimeout",
        ];
        foreach (var key in keys)
        {
            Assert.Contains(errors, e => e.StartsWith(key + " ", StringComparison.Ordinal) || e.Contains(key + " and", StringComparison.Ordinal));
        }

        Assert.All(errors, e => Assert.DoesNotContain("secret", e, StringComparison.Ordinal));
    }

    [Fact]
    public void AddRabbitMqBroker_BindsTheEdgeBrokerRabbitMqSection()
    {
        using var host = BuildHost(("Edge:Broker:RabbitMq:StreamName", "orders-log"), ("Edge:Broker:RabbitMq:LookBack:Count", "500"), ("Edge:Broker:RabbitMq:MaxAge", "02:00:00"));

        var options = host.Services.GetRequiredService<IOptions<RabbitMqBrokerOptions>>().Value;
        Assert.Equal("orders-log", options.StreamName);
        Assert.Equal(500, options.LookBack.Count);
        Assert.Equal(TimeSpan.FromHours(2), options.MaxAge);
        Assert.IsType<RabbitMqBroker>(host.Services.GetRequiredService<IEventBroker>());
    }

    [Fact]
    public async Task AddRabbitMqBroker_FailsAtStart_NamingEveryBadKey()
    {
        using var host = BuildHost(("Edge:Broker:RabbitMq:Prefetch", "70000"), ("Edge:Broker:RabbitMq:StreamName", ""));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Broker:RabbitMq:Prefetch", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Broker:RabbitMq:StreamName", StringComparison.Ordinal));
    }

    private static IHost BuildHost(params (string Key, string? Value)[] settings)
    {
        var values = new Dictionary<string, string?> { ["Edge:Broker:Type"] = "RabbitMq", ["Edge:Broker:RabbitMq:Uri"] = "amqp://u:p@127.0.0.1:1/" };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IHostedService, NoopHostedService>();
        new TestEdgeBuilder(builder.Services, configuration.GetSection("Edge")).AddRabbitMqBroker();
        return builder.Build();
    }

    [Fact]
    public void TheAssembly_DeclaresTheBrokerType()
    {
        var attribute = Assert.Single(typeof(RabbitMqBroker).Assembly.GetCustomAttributes(typeof(EdgeBrokerAttribute), false).Cast<EdgeBrokerAttribute>());
        Assert.Equal("RabbitMq", attribute.Type);
        Assert.True(typeof(IEdgeBrokerRegistration).IsAssignableFrom(attribute.Registration));
    }

    [Theory]
    [InlineData("amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/")]
    [InlineData("amqps://edge:s3cr%40t@rabbit.internal:5671/prod", "amqps://edge:***@rabbit.internal:5671/prod")]
    [InlineData("amqp://127.0.0.1/", "amqp://127.0.0.1/")]
    [InlineData("not a uri with password:secret", "***")]
    public void Redact_HidesThePassword(string uri, string expected)
    {
        Assert.Equal(expected, RabbitMqUri.Redact(uri));
    }

    [Fact]
    public void CreateFactory_AppliesTlsAndVirtualHost_AndTurnsAutomaticRecoveryOff()
    {
        var factory = RabbitMqUri.CreateFactory(new RabbitMqBrokerOptions
        {
            Uri = "amqp://u:p@rabbit.internal:5671/",
            VirtualHost = "edge",
            Tls = new RabbitMqTlsOptions { Enabled = true, ServerName = "rabbit.example" },
        });

        Assert.False(factory.AutomaticRecoveryEnabled);
        Assert.Equal("edge", factory.VirtualHost);
        Assert.True(factory.Ssl.Enabled);
        Assert.Equal("rabbit.example", factory.Ssl.ServerName);
    }

    [Theory]
    [InlineData("""{"epoch":"abc123","head":42}""", "abc123", 42L)]
    [InlineData("""{"epoch":"ABC","head":1}""", null, 0L)]
    [InlineData("""not json""", null, 0L)]
    [InlineData("""{"epoch":"abc","head":-1}""", null, 0L)]
    public void EpochEntry_ParsesOnlyValidEntries(string body, string? epoch, long head)
    {
        var entry = EpochStore.Parse(System.Text.Encoding.UTF8.GetBytes(body));
        Assert.Equal(epoch, entry?.Epoch);
        Assert.Equal(head, entry?.Head ?? 0);
    }

    [Theory]
    [InlineData("NOT_FOUND - no queue 'edge-events' in vhost '/'", true)]
    [InlineData("NOT_FOUND - home node 'rabbit@n1' of durable queue 'edge-events' in vhost '/' is down or inaccessible", false)]
    [InlineData(null, false)]
    public void IsMissingQueue_TellsADeletedStreamFromOneThatIsStillStarting(string? replyText, bool missing)
    {
        Assert.Equal(missing, StreamTopology.IsMissingQueue(replyText));
    }

    [Fact]
    public void NewEpoch_IsAValidCursorEpoch()
    {
        var a = EpochStore.NewEpoch();
        Assert.True(Cursors.EventCursor.IsValidEpoch(a));
        Assert.NotEqual(a, EpochStore.NewEpoch());
    }

    private sealed class TestEdgeBuilder(IServiceCollection services, IConfiguration configuration) : IEdgeBuilder
    {
        public IServiceCollection Services { get; } = services;

        public IConfiguration Configuration { get; } = configuration;
    }

    private sealed class NoopHostedService : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
