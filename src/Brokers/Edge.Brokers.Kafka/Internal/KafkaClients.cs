using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// Builds the librdkafka clients of one broker instance from the options: the same bootstrap
/// servers and security settings everywhere, librdkafka's log routed to ours, errors to health.
/// </summary>
internal sealed class KafkaClients
{
    /// <summary>Properties the edge sets itself; configuration may not override them.</summary>
    public static readonly IReadOnlySet<string> ReservedProperties = new HashSet<string>(StringComparer.Ordinal)
    {
        "bootstrap.servers", "enable.idempotence", "acks", "request.required.acks", "partitioner", "message.timeout.ms",
        "group.id", "enable.auto.commit", "enable.auto.offset.store", "enable.partition.eof", "auto.offset.reset",
        "transactional.id", "isolation.level",
    };

    /// <summary>
    /// librdkafka backs off up to 10 s between reconnects; after a cluster outage the edge would
    /// refuse publishes for that long after the brokers are back. 2 s keeps recovery quick
    /// (<c>Properties</c> can still set <c>reconnect.backoff.max.ms</c>).
    /// </summary>
    private const int ReconnectBackoffMaxMs = 2000;

    private readonly KafkaBrokerOptions _options;
    private readonly ILogger _logger;
    private readonly Action<Error> _onError;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];

    public KafkaClients(KafkaBrokerOptions options, ILogger logger, Action<Error> onError)
    {
        _options = options;
        _logger = logger;
        _onError = onError;
    }

    public IProducer<string, byte[]> CreateProducer()
    {
        var config = new ProducerConfig
        {
            ClientId = "edge-producer-" + _instance,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = (int)_options.PublishTimeout.TotalMilliseconds,
            RequestTimeoutMs = (int)Math.Min(_options.PublishTimeout.TotalMilliseconds, _options.RequestTimeout.TotalMilliseconds),
            LingerMs = _options.Linger.TotalMilliseconds,
            Partitioner = _options.Partitioner == KafkaKeyPartitioner.Crc32 ? Confluent.Kafka.Partitioner.ConsistentRandom : Confluent.Kafka.Partitioner.Murmur2Random,
            DeliveryReportFields = "status",
            ReconnectBackoffMaxMs = ReconnectBackoffMaxMs,
        };
        Apply(config);
        return new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, error) => _onError(error))
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
            SocketTimeoutMs = (int)Math.Max(10_000, _options.RequestTimeout.TotalMilliseconds),
            ReconnectBackoffMaxMs = ReconnectBackoffMaxMs,
        };
        Apply(config);
        return new ConsumerBuilder<Ignore, byte[]>(config)
            .SetErrorHandler((_, error) => _onError(error))
            .SetLogHandler((_, message) => OnLog(message))
            .Build();
    }

    public IAdminClient CreateAdmin()
    {
        var config = new AdminClientConfig { ClientId = "edge-admin-" + _instance };
        Apply(config);
        return new AdminClientBuilder(config)
            .SetErrorHandler((_, error) => _onError(error))
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
        config.BootstrapServers = _options.BootstrapServers;
        config.Set("client.dns.lookup", "use_all_dns_ips");
        foreach (var (key, value) in _options.Properties)
        {
            config.Set(key, value);
        }

        if (NormalizeSecurityProtocol(_options.SecurityProtocol) is { } protocol)
        {
            config.Set("security.protocol", protocol);
        }

        SetIfPresent(config, "sasl.mechanism", _options.SaslMechanism);
        SetIfPresent(config, "sasl.username", _options.SaslUsername);
        SetIfPresent(config, "sasl.password", _options.SaslPassword);
        SetIfPresent(config, "ssl.ca.location", _options.SslCaLocation);
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
        if (_logger.IsEnabled(level))
        {
            Log.ClientLog(_logger, level, message.Name, message.Facility, message.Message);
        }
    }

    internal static string Describe(Error error) =>
        string.Create(CultureInfo.InvariantCulture, $"{error.Code} ({error.Reason})");
}
