namespace Edge.Brokers;

/// <summary>
/// Thrown by <see cref="IEventBroker.SubscribeAsync"/> when the log's history is gone (the
/// stream or topic was deleted or re-created): positions of the current epoch mean nothing any
/// more. The host then opens the broker again, takes the new epoch, and sends its clients
/// back to reconnect (they get the gap signal).
/// </summary>
public sealed class LogHistoryLostException : Exception
{
    public LogHistoryLostException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
