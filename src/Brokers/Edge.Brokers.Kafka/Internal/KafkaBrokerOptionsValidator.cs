using Edge.Brokers.Cursors;
using Microsoft.Extensions.Options;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>Checks <see cref="KafkaBrokerOptions"/> at start and reports every error at once, naming its key.</summary>
internal sealed class KafkaBrokerOptionsValidator : IValidateOptions<KafkaBrokerOptions>
{
    private const string Prefix = "Edge:Broker:Kafka:";

    public ValidateOptionsResult Validate(string? name, KafkaBrokerOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            errors.Add($"{Prefix}BootstrapServers is required: a comma-separated host:port list, e.g. \"kafka:9092\".");
        }

        if (string.IsNullOrWhiteSpace(options.Topic) || options.Topic.Length > 249 || !IsValidTopicName(options.Topic))
        {
            errors.Add($"{Prefix}Topic must be 1 to 249 characters from [a-zA-Z0-9._-] (was '{options.Topic}').");
        }

        if (options.Partitions is < 1 or > 10_000)
        {
            errors.Add($"{Prefix}Partitions must be from 1 to 10000 (was {options.Partitions}).");
        }

        if (options.ReplicationFactor is 0 or < -1)
        {
            errors.Add($"{Prefix}ReplicationFactor must be -1 (the cluster's default) or at least 1 (was {options.ReplicationFactor}).");
        }

        if (options.RetentionMs < -1)
        {
            errors.Add($"{Prefix}RetentionMs must be -1 (forever), 0 (the cluster's default) or positive (was {options.RetentionMs}).");
        }

        if (!Enum.IsDefined(options.Partitioner))
        {
            errors.Add($"{Prefix}Partitioner must be Murmur2 or Crc32.");
        }

        if (options.LookBack < TimeSpan.Zero)
        {
            errors.Add($"{Prefix}LookBack must not be negative.");
        }

        if (options.LookBackRecords < 0)
        {
            errors.Add($"{Prefix}LookBackRecords must not be negative.");
        }

        if (options.ReplayConcurrency is < 1 or > 256)
        {
            errors.Add($"{Prefix}ReplayConcurrency must be from 1 to 256 (was {options.ReplayConcurrency}).");
        }

        RequirePositive(errors, "PublishTimeout", options.PublishTimeout, TimeSpan.FromMinutes(10));
        RequirePositive(errors, "RequestTimeout", options.RequestTimeout, TimeSpan.FromMinutes(10));
        RequirePositive(errors, "ReadTimeout", options.ReadTimeout, TimeSpan.FromMinutes(10));
        RequirePositive(errors, "MetadataRefreshInterval", options.MetadataRefreshInterval, TimeSpan.FromDays(1));
        if (options.Linger < TimeSpan.Zero || options.Linger > TimeSpan.FromSeconds(5))
        {
            errors.Add($"{Prefix}Linger must be from 0 to 5 seconds (was {options.Linger}).");
        }

        if (options.PublishTimeout > TimeSpan.Zero && options.Linger >= options.PublishTimeout)
        {
            errors.Add($"{Prefix}PublishTimeout ({options.PublishTimeout}) must be longer than {Prefix}Linger ({options.Linger}).");
        }

        if (!string.IsNullOrEmpty(options.Epoch) && !EventCursor.IsValidEpoch(options.Epoch))
        {
            errors.Add($"{Prefix}Epoch must be 1 to 32 characters from [0-9a-z].");
        }

        if (!string.IsNullOrEmpty(options.SecurityProtocol) && KafkaClients.NormalizeSecurityProtocol(options.SecurityProtocol) is null)
        {
            errors.Add($"{Prefix}SecurityProtocol must be Plaintext, Ssl, SaslPlaintext or SaslSsl (was '{options.SecurityProtocol}').");
        }

        if (string.IsNullOrEmpty(options.SaslUsername) != string.IsNullOrEmpty(options.SaslPassword))
        {
            errors.Add($"{Prefix}SaslUsername and {Prefix}SaslPassword must be set together.");
        }

        foreach (var key in options.Properties.Keys)
        {
            if (KafkaClients.ReservedProperties.Contains(key))
            {
                errors.Add($"{Prefix}Properties:{key} is set by the edge itself and cannot be overridden.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void RequirePositive(List<string> errors, string key, TimeSpan value, TimeSpan max)
    {
        if (value <= TimeSpan.Zero || value > max)
        {
            errors.Add($"{Prefix}{key} must be positive and at most {max} (was {value}).");
        }
    }

    private static bool IsValidTopicName(string topic)
    {
        foreach (var c in topic)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return topic is not "." and not "..";
    }
}
