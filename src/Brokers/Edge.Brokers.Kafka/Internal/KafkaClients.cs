using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// Builds the librdkafka clients of one broker instance from the options: the same bootstrap
/// servers and security settings everywhere, librdkafka's log routed to ours, errors to health.
/// </summary>
internal sealed class KafkaClients(KafkaBrokerOptions options, ILogger logger, Action<Error> onError)
{
    /// <summary>Properties the edge sets itself; configuration may not override them.</summary>
    public static readonly IReadOnlySet<string> ReservedProperties = new HashSet<string>(StringComparer.Ordinal)
    {
        "bootstrap.servers", "enable.idempotence", "acks", "request.required.acks", "partitioner", "message.timeout.ms",
        "group.id", "enable.auto.commit", "enable.auto.offset.store", "enable.partition.eof", "auto.offset.reset",
        "transactional.id", "isolation.level",
    };

    /// <summary>
    /// librdkafka's default backoff between reconnects is long: after a cluster outage the edge
    /// would refuse publishes for that long after the brokers are back. A shorter one keeps
    /// recovery quick (<c>Properties</c> can still set <c>reconnect.backoff.max.ms</c>).
    /// </summary>
    private const int ReconnectBackoffMaxMs = 2000;

    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];

    public IProducer<string, byte[]> CreateProducer()
    {
        var config = new ProducerConfig
        {
            ClientId = "edge-producer-" + _instance,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = (int)options.PublishTimeout.TotalMilliseconds,
            RequestTimeoutMs = (int)Math.Min(options.PublishTimeout.TotalMilliseconds, options.RequestTimeout.TotalMilliseconds),
            LingerMs = options.Linger.TotalMilliseconds,
            Partitioner = options.Partitioner == KafkaKeyPartitioner.Crc32 ? Confluent.Kafka.Partitioner.ConsistentRandom : Confluent.Kafka.Partitioner.Murmur2Random,
            DeliveryReportFields = "status",
            ReconnectBackoffMaxMs = ReconnectBackoffMaxMs,
        };
        Apply(config);
        return new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, error) => onError(error))
            .SetLogHandler((_, message) => OnLog(message))
            .Build();
    }

    /// <summary>A consumer for manual assignment only: it never joins its group nor commits.</summary>
    public IConsumer<Ignore, byte[]> CreateConsumer(string purpose, bool partitionEof)
    {
        var config = new ConsumerConfig
        {
            ClientId = $"edge-{purpose}-{_instance}",
            // Confluent.Kafka insists on a group id; with manual assignment and no commits the group is never joined.
            GroupId = $"edge-{purpose}-{_instance}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = partitionEof,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 100,
            SocketTimeoutMs = (int)Math.Max(10_000, options.RequestTimeout.TotalMilliseconds),
            ReconnectBackoffMaxMs = ReconnectBackoffMaxMs,
        };
        Apply(config);
        return new ConsumerBuilder<Ignore, byte[]>(config)
            .SetErrorHandler((_, error) => onError(error))
            .SetLogHandler((_, message) => OnLog(message))
            .Build();
    }

    public IAdminClient CreateAdmin()
    {
        var config = new AdminClientConfig { ClientId = "edge-admin-" + _instance };
        Apply(config);
        return new AdminClientBuilder(config)
            .SetErrorHandler((_, error) => onError(error))
            .SetLogHandler((_, message) => OnLog(message))
            .Build();
    }

    /// <summary>Normalises <c>SaslSsl</c>, <c>SASL_SSL</c> or <c>sasl-ssl</c> to librdkafka's <c>sasl_ssl</c>.</summary>
    public static string? NormalizeSecurityProtocol(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var compact = value.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();
        return compact switch
        {
            "plaintext" => "plaintext",
            "ssl" => "ssl",
            "saslplaintext" => "sasl_plaintext",
            "saslssl" => "sasl_ssl",
            _ => null,
        };
    }

    private void Apply(ClientConfig config)
    {
        config.BootstrapServers = options.BootstrapServers;
        config.Set("client.dns.lookup", "use_all_dns_ips");
        foreach (var (key, value) in options.Properties)
        {
            config.Set(key, value);
        }

        if (NormalizeSecurityProtocol(options.SecurityProtocol) is { } protocol)
        {
            config.Set("security.protocol", protocol);
        }

        SetIfPresent(config, "sasl.mechanism", options.SaslMechanism);
        SetIfPresent(config, "sasl.username", options.SaslUsername);
        SetIfPresent(config, "sasl.password", options.SaslPassword);
        SetIfPresent(config, "ssl.ca.location", options.SslCaLocation);
    }

    private static void SetIfPresent(ClientConfig config, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            config.Set(key, value);
        }
    }

    private void OnLog(LogMessage message)
    {
        var level = message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Error,
            SyslogLevel.Error or SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Debug,
            _ => LogLevel.Trace,
        };
        if (logger.IsEnabled(level))
        {
            Log.ClientLog(logger, level, message.Name, message.Facility, message.Message);
        }
    }

    internal static string Describe(Error error) =>
        string.Create(CultureInfo.InvariantCulture, $"{error.Code} ({error.Reason})");
}
