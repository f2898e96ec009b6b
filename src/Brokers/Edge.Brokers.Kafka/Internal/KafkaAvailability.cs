using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// Whether Kafka is reachable now, as the clients' errors, the metadata refresh, deliveries and
/// consumed records last showed it; each change is logged once.
/// </summary>
internal sealed class KafkaAvailability(ILogger logger)
{
    private volatile BrokerHealth _health = BrokerHealth.Available;

    public BrokerHealth Health => _health;

    public void MarkAvailable()
    {
        if (!_health.IsAvailable)
        {
            _health = BrokerHealth.Available;
            Log.Available(logger);
        }
    }

    public void MarkUnavailable(string reason)
    {
        var wasAvailable = _health.IsAvailable;
        _health = BrokerHealth.Unavailable(reason);
        if (wasAvailable)
        {
            Log.Unavailable(logger, reason);
        }
    }

    /// <summary>Takes in an error a librdkafka client reported on its own.</summary>
    public void OnClientError(Error error)
    {
        if (error.IsFatal)
        {
            MarkUnavailable("fatal client error " + KafkaClients.Describe(error));
        }
        else if (error.Code is ErrorCode.Local_AllBrokersDown)
        {
            MarkUnavailable("all Kafka brokers are down");
        }
        else if (error.Code is ErrorCode.Local_Authentication or ErrorCode.SaslAuthenticationFailed or ErrorCode.TopicAuthorizationFailed)
        {
            MarkUnavailable("not authorized: " + error.Code);
        }
    }
}
