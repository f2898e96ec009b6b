namespace Edge.Brokers.Kafka;

// Replaced by the Kafka broker plugin (issue: Kafka broker plugin).
internal static class Placeholder
{
}
