using Microsoft.Extensions.Logging;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>Every log line of the RabbitMQ broker, with stable event ids (7000–7099). No payloads, no credentials.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Information, Message = "Connected to RabbitMQ at {Uri} (virtual host '{VirtualHost}').")]
    public static partial void Connected(ILogger logger, string uri, string virtualHost);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Cannot connect to RabbitMQ at {Uri}: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string uri, string reason);

    [LoggerMessage(EventId = 7017, Level = LogLevel.Warning, Message = "RabbitMQ blocks publishing on this connection ({Reason}); publishes fail until it unblocks.")]
    public static partial void ConnectionBlocked(ILogger logger, string reason);

    [LoggerMessage(EventId = 7018, Level = LogLevel.Information, Message = "RabbitMQ unblocked publishing.")]
    public static partial void ConnectionUnblocked(ILogger logger);

    [LoggerMessage(EventId = 7016, Level = LogLevel.Debug, Message = "Still cannot connect to RabbitMQ at {Uri}: {Reason}")]
    public static partial void ConnectRetryFailed(ILogger logger, string uri, string reason);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "The RabbitMQ connection was lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string reason);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Declared stream '{Stream}' (max age {MaxAge}, max bytes {MaxLengthBytes}, segment bytes {SegmentBytes}).")]
    public static partial void StreamDeclared(ILogger logger, string stream, string maxAge, long maxLengthBytes, long segmentBytes);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Information, Message = "Opened stream '{Stream}': epoch {Epoch}, next offset {NextOffset}, live feed from offset {FeedStart}.")]
    public static partial void Opened(ILogger logger, string stream, string epoch, long nextOffset, long feedStart);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Warning, Message = "Stream '{Stream}' starts a new epoch {Epoch}: {Reason}. Cursors of the previous epoch get the gap signal.")]
    public static partial void NewEpoch(ILogger logger, string stream, string epoch, string reason);

    [LoggerMessage(EventId = 7015, Level = LogLevel.Information, Message = "Created stream '{Stream}' with epoch {Epoch}.")]
    public static partial void CreatedWithEpoch(ILogger logger, string stream, string epoch);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "Reading stream '{Stream}' from offset {Offset}.")]
    public static partial void FeedStarted(ILogger logger, string stream, long offset);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Warning, Message = "The feed of stream '{Stream}' stopped after offset {LastOffset}: {Reason}. Reconnecting in {DelayMs} ms.")]
    public static partial void FeedInterrupted(ILogger logger, string stream, long lastOffset, string reason, long delayMs);

    [LoggerMessage(EventId = 7008, Level = LogLevel.Information, Message = "The feed of stream '{Stream}' resumed at offset {Offset} after {Attempts} attempt(s).")]
    public static partial void FeedResumed(ILogger logger, string stream, long offset, int attempts);

    [LoggerMessage(EventId = 7009, Level = LogLevel.Error, Message = "The history of stream '{Stream}' was lost ({Reason}); the feed stops and the broker must be reopened.")]
    public static partial void HistoryLost(ILogger logger, string stream, string reason);

    [LoggerMessage(EventId = 7010, Level = LogLevel.Warning, Message = "Publishing {Count} message(s) to stream '{Stream}' failed: {Reason}")]
    public static partial void PublishFailed(ILogger logger, int count, string stream, string reason);

    [LoggerMessage(EventId = 7011, Level = LogLevel.Warning, Message = "A delivery from stream '{Stream}' has no x-stream-offset header; it is skipped.")]
    public static partial void MissingOffset(ILogger logger, string stream);

    [LoggerMessage(EventId = 7012, Level = LogLevel.Debug, Message = "Skipped offset {Offset} of stream '{Stream}', already yielded (resume offset {Resume}).")]
    public static partial void SkippedDuplicate(ILogger logger, long offset, string stream, long resume);

    [LoggerMessage(EventId = 7013, Level = LogLevel.Warning, Message = "Reading back stream '{Stream}' from {From} to {To} failed: {Reason}")]
    public static partial void ReadFailed(ILogger logger, string stream, long from, long to, string reason);

    [LoggerMessage(EventId = 7014, Level = LogLevel.Warning, Message = "Stream '{Stream}' exists with arguments that differ from the configured retention; the existing ones stay in force: {Reason}")]
    public static partial void StreamArgumentsDiffer(ILogger logger, string stream, string reason);
}
