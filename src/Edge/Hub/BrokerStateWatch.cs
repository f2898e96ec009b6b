using Edge.Brokers;
using Edge.Diagnostics;

namespace Edge.Hub;

/// <summary>
/// Logs each change of the broker's availability once, with the plugin's reason: looked at on the
/// hub's timer, so a flapping broker costs one line per change, never one per request.
/// </summary>
internal sealed partial class BrokerStateWatch(IEventBroker broker, ILogger logger)
{
    private bool? _available;

    /// <summary>Called from one timer loop only.</summary>
    public void Check()
    {
        var health = broker.Health;
        if (_available == health.IsAvailable)
        {
            return;
        }

        var first = _available is null;
        _available = health.IsAvailable;
        if (!health.IsAvailable)
        {
            Log.BrokerUnavailable(logger, broker.Name, health.Reason ?? "the plugin gave no reason");
        }
        else if (!first)
        {
            Log.BrokerAvailable(logger, broker.Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.BrokerUnavailable, Level = LogLevel.Warning, Message = "The {Broker} broker became unavailable: {Reason}")]
        public static partial void BrokerUnavailable(ILogger logger, string broker, string reason);

        [LoggerMessage(EventId = EdgeEventIds.BrokerAvailable, Level = LogLevel.Information, Message = "The {Broker} broker is available again")]
        public static partial void BrokerAvailable(ILogger logger, string broker);
    }
}
