namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>Whether the broker can serve: its history is intact, it is connected, and the live feed reads.</summary>
internal sealed class StreamHealth(string stream, RabbitMqConnector connector, StreamState state)
{
    public BrokerHealth Current
    {
        get
        {
            if (state.HistoryLost is { } lost)
            {
                return BrokerHealth.Unavailable($"the history of stream '{stream}' was lost ({lost}); reopen");
            }

            if (connector.Problem is { } problem)
            {
                return BrokerHealth.Unavailable("RabbitMQ: " + problem);
            }

            return state.FeedProblem is { } feed ? BrokerHealth.Unavailable($"the feed of stream '{stream}' is reconnecting: {feed}") : BrokerHealth.Available;
        }
    }
}
