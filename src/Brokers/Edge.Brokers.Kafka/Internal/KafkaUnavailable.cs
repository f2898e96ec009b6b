namespace Edge.Brokers.Kafka.Internal;

/// <summary>The failure of a request Kafka may well serve again shortly: the caller is told when to retry.</summary>
internal static class KafkaUnavailable
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    public static BrokerUnavailableException RetryLater(string message, Exception? innerException = null) =>
        new(message, innerException) { RetryAfter = RetryAfter };
}
