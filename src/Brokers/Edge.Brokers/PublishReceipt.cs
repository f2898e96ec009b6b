namespace Edge.Brokers;

/// <summary>
/// The broker's acknowledgement of a publish: per message, in order, its position in the log
/// when the broker reports one (some brokers, such as RabbitMQ streams over AMQP, do not).
/// </summary>
public sealed record PublishReceipt(IReadOnlyList<LogPosition?> Positions);
