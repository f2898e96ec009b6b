using RabbitMQ.Client;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>The held epoch lock; disposing deletes the lock queue.</summary>
internal sealed class EpochLock(IChannel channel, string queue) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        try
        {
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The lock queue is exclusive: it disappears with the connection anyway.
        }

        await StreamTopology.CloseQuietlyAsync(channel).ConfigureAwait(false);
    }
}
