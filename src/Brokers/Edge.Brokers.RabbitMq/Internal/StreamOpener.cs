using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// Opens the log: connects, lets the <see cref="EpochResolver"/> settle the epoch and the head,
/// finds where the live feed starts (the head, or the configured look-back before it) and
/// resets the <see cref="StreamState"/> to that.
/// </summary>
internal sealed class StreamOpener(RabbitMqBrokerOptions options, RabbitMqConnector connector, StreamTopology topology, EpochResolver epochs, StreamState state, ILogger logger, TimeProvider time)
{
    public async Task<LogSnapshot> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            var connection = await connector.GetAsync(cancellationToken).ConfigureAwait(false);
            var (epoch, head) = await epochs.ResolveAsync(connection, cancellationToken).ConfigureAwait(false);

            // With a look-back the feed starts earlier, and the snapshot says so: the host keeps
            // the records between the look-back start and the head in its replay window only.
            var start = await FindFeedStartAsync(connection, head, cancellationToken).ConfigureAwait(false);
            state.Opening(new OpenedLog(epoch, start), head);
            Log.Opened(logger, options.StreamName, epoch, head, start);
            return new LogSnapshot(epoch, [head]) { FeedStartOffsets = start < head ? [start] : null };
        }
        catch (Exception ex) when (ex is not (BrokerUnavailableException or OperationCanceledException))
        {
            throw new BrokerUnavailableException($"Cannot open stream '{options.StreamName}': {RabbitMqConnector.Describe(ex)}", ex) { RetryAfter = TimeSpan.FromSeconds(1) };
        }
    }

    private async Task<long> FindFeedStartAsync(IConnection connection, long head, CancellationToken cancellationToken)
    {
        var lookBack = options.LookBack;
        if (lookBack.Count > 0)
        {
            return Math.Max(0, head - lookBack.Count);
        }

        if (lookBack.Age > TimeSpan.Zero && head > 0)
        {
            var since = new AmqpTimestamp((time.GetUtcNow() - lookBack.Age).ToUnixTimeSeconds());
            var first = await topology.ProbeFirstOffsetAsync(connection, since, cancellationToken).ConfigureAwait(false);
            return first is { } offset && offset < head ? offset : head;
        }

        return head;
    }
}
