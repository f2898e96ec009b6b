using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>The Kafka broker's log messages; event ids 7100–7199 belong to this plugin.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7100, Level = LogLevel.Information, Message = "Created Kafka topic {Topic} with {Partitions} partitions.")]
    public static partial void TopicCreated(ILogger logger, string topic, int partitions);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Could not create Kafka topic {Topic}: {Reason}.")]
    public static partial void CreateTopicFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Information, Message = "Opened Kafka topic {Topic}: epoch {Epoch}, {Partitions} partitions.")]
    public static partial void Opened(ILogger logger, string topic, string epoch, int partitions);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Information, Message = "Kafka topic {Topic} now has {Partitions} partitions (was {Previous}).")]
    public static partial void PartitionsChanged(ILogger logger, string topic, int partitions, int previous);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Warning, Message = "Kafka topic {Topic} was re-created (epoch {Previous} → {Epoch}): its history is lost; reading it from the beginning.")]
    public static partial void TopicRecreated(ILogger logger, string topic, string previous, string epoch);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Warning, Message = "Kafka consumer error at partition {Partition} offset {Offset}: {Reason}.")]
    public static partial void RecordError(ILogger logger, int partition, long offset, string reason);

    [LoggerMessage(EventId = 7107, Level = LogLevel.Warning, Message = "Kafka is unavailable: {Reason}.")]
    public static partial void Unavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 7108, Level = LogLevel.Information, Message = "Kafka is available again.")]
    public static partial void Available(ILogger logger);

    [LoggerMessage(EventId = 7109, Message = "librdkafka {Client} [{Facility}] {Text}")]
    public static partial void ClientLog(ILogger logger, LogLevel level, string client, string facility, string text);

    [LoggerMessage(EventId = 7110, Level = LogLevel.Warning, Message = "Kafka consumer failed fatally ({Reason}); recreating it at the positions last read.")]
    public static partial void ConsumerRestarted(ILogger logger, string reason);

    [LoggerMessage(EventId = 7111, Level = LogLevel.Debug, Message = "Refreshing the metadata of Kafka topic {Topic} failed: {Reason}.")]
    public static partial void MetadataRefreshFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 7112, Level = LogLevel.Information, Message = "Look-back by time is not available on this cluster for partition {Partition}; starting {Records} records before its end instead.")]
    public static partial void LookBackByCount(ILogger logger, int partition, long records);

    [LoggerMessage(EventId = 7113, Level = LogLevel.Warning, Message = "Publishing {Count} records to Kafka failed: {Reason}.")]
    public static partial void PublishFailed(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 7114, Level = LogLevel.Warning, Message = "The Kafka producer failed fatally ({Reason}); a new one is created for the next publish.")]
    public static partial void ProducerFaulted(ILogger logger, string reason);

    [LoggerMessage(EventId = 7115, Level = LogLevel.Debug, Message = "Kafka live feed started on {Partitions} partitions.")]
    public static partial void FeedStarted(ILogger logger, int partitions);
}
