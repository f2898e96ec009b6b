namespace Edge.Brokers.RabbitMq;

// Replaced by the RabbitMq broker plugin (issue: RabbitMq broker plugin).
internal static class Placeholder
{
}
