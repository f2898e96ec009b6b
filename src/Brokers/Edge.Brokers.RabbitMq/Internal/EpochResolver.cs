using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// Every decision about the stream's epoch, each taken under the epoch lock (see
/// <see cref="EpochStore"/>): at open, which epoch the stream is in and where its head is;
/// before the live feed resumes, whether the stream still holds the history it was reading.
/// </summary>
internal sealed class EpochResolver(RabbitMqBrokerOptions options, StreamTopology topology, EpochStore epochs, ILogger logger)
{
    /// <summary>Makes sure the stream exists, finds its head and decides the epoch.</summary>
    public async Task<(string Epoch, long Head)> ResolveAsync(IConnection connection, CancellationToken cancellationToken)
    {
        await using (await epochs.LockAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return await ResolveLockedAsync(connection, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Throws <see cref="HistoryLostException"/> when the stream was deleted, re-created or moved
    /// to another epoch since <paramref name="epoch"/> was read up to <paramref name="resume"/>.
    /// </summary>
    public async Task VerifyHistoryAsync(IConnection connection, string epoch, long resume, CancellationToken cancellationToken)
    {
        await using var held = await epochs.LockAsync(connection, cancellationToken).ConfigureAwait(false);
        if (!await StreamTopology.QueueExistsAsync(connection, options.StreamName, cancellationToken).ConfigureAwait(false))
        {
            if (!options.DeclareStream)
            {
                throw new BrokerUnavailableException($"Stream '{options.StreamName}' does not exist.");
            }

            await topology.DeclareAsync(connection, cancellationToken).ConfigureAwait(false);
            var fresh = EpochStore.NewEpoch();
            await epochs.WriteAsync(connection, new EpochEntry(fresh, 0), cancellationToken).ConfigureAwait(false);
            Log.NewEpoch(logger, options.StreamName, fresh, "the stream was deleted; the edge re-created it");
            throw new HistoryLostException("the stream was deleted");
        }

        var entry = await epochs.ReadAsync(connection, cancellationToken).ConfigureAwait(false);
        if (entry is not null && entry.Epoch != epoch)
        {
            throw new HistoryLostException($"the stream's epoch is now {entry.Epoch}");
        }

        if (resume <= 0)
        {
            return;
        }

        var head = await topology.ProbeHeadAsync(connection, StreamTopology.FirstDeliveryTimeout, cancellationToken).ConfigureAwait(false)
            ?? await topology.ProbeHeadAsync(connection, StreamTopology.SlowFirstDeliveryTimeout, cancellationToken).ConfigureAwait(false);
        if (head is null || head < resume)
        {
            var fresh = EpochStore.NewEpoch();
            await epochs.WriteAsync(connection, new EpochEntry(fresh, head ?? 0), cancellationToken).ConfigureAwait(false);
            Log.NewEpoch(logger, options.StreamName, fresh, $"its head {head ?? 0} is below offset {resume} already read, so it was re-created");
            throw new HistoryLostException("the stream was re-created");
        }

        if (entry is null || head > entry.Head)
        {
            await epochs.WriteAsync(connection, new EpochEntry(epoch, head.Value), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(string Epoch, long Head)> ResolveLockedAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var created = false;
        if (!await StreamTopology.QueueExistsAsync(connection, options.StreamName, cancellationToken).ConfigureAwait(false))
        {
            if (!options.DeclareStream)
            {
                throw new BrokerUnavailableException($"Stream '{options.StreamName}' does not exist and {RabbitMqBrokerOptionsValidator.Section}:DeclareStream is false.");
            }

            await topology.DeclareAsync(connection, cancellationToken).ConfigureAwait(false);
            created = true;
        }
        else if (options.DeclareStream)
        {
            await topology.CheckArgumentsAsync(connection, cancellationToken).ConfigureAwait(false);
            await topology.DeclareExchangeAsync(connection, cancellationToken).ConfigureAwait(false);
        }

        var entry = await epochs.ReadAsync(connection, cancellationToken).ConfigureAwait(false);
        long head = 0;
        if (!created)
        {
            var probed = await topology.ProbeHeadAsync(connection, StreamTopology.FirstDeliveryTimeout, cancellationToken).ConfigureAwait(false);
            if (probed is null && entry is { Head: > 0 })
            {
                // Records were seen before: give a slow broker more time before calling the stream empty.
                probed = await topology.ProbeHeadAsync(connection, StreamTopology.SlowFirstDeliveryTimeout, cancellationToken).ConfigureAwait(false);
            }

            head = probed ?? 0;
        }

        var reason = created ? "the edge created the stream"
            : entry is null ? "no epoch was recorded for the stream"
            : head < entry.Head ? $"its head {head} is below the recorded {entry.Head}, so it was re-created"
            : null;
        if (reason is not null)
        {
            var epoch = EpochStore.NewEpoch();
            await epochs.WriteAsync(connection, new EpochEntry(epoch, head), cancellationToken).ConfigureAwait(false);
            if (created)
            {
                Log.CreatedWithEpoch(logger, options.StreamName, epoch);
            }
            else
            {
                Log.NewEpoch(logger, options.StreamName, epoch, reason);
            }

            return (epoch, head);
        }

        if (head > entry!.Head)
        {
            await epochs.WriteAsync(connection, entry with { Head = head }, cancellationToken).ConfigureAwait(false);
        }

        return (entry.Epoch, head);
    }
}
