namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>The stream no longer holds the history the feed was reading (deleted, re-created, new epoch).</summary>
internal sealed class HistoryLostException(string reason) : Exception(reason);
