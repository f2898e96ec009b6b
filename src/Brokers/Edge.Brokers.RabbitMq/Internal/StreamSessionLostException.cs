namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>The consumer or its channel ended; the live feed reconnects.</summary>
internal sealed class StreamSessionLostException(string reason) : Exception(reason);
