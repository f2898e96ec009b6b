namespace Edge.Brokers.RabbitMq;

/// <summary>
/// Where the live feed of an instance starts (<c>Edge:Broker:RabbitMq:LookBack</c>). Both zero
/// (default): at the head, only new records. Set one of them to warm the replay window at start.
/// </summary>
public sealed record RabbitMqLookBackOptions
{
    /// <summary>Start about this many offsets before the head. Default 0.</summary>
    public long Count { get; set; }

    /// <summary>Start at records appended within this age (one-second resolution, whole chunks). Default zero.</summary>
    public TimeSpan Age { get; set; }
}
