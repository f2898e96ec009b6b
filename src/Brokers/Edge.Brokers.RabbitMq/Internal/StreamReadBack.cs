using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// Reads back what the stream retains, for replays of old cursors: each read is a short-lived
/// consumer from an offset that ends at the range's end, at the head this instance knows of,
/// or after <see cref="RabbitMqBrokerOptions.ReadIdleTimeout"/> without a delivery. Reads and
/// probes of the stream's start share <see cref="RabbitMqBrokerOptions.ReplayConcurrency"/>.
/// </summary>
internal sealed class StreamReadBack(RabbitMqBrokerOptions options, RabbitMqConnector connector, StreamTopology topology, StreamState state, ILogger logger, TimeProvider time)
{
    private readonly SemaphoreSlim _gate = new(options.ReplayConcurrency, options.ReplayConcurrency);

    public async IAsyncEnumerable<BrokerRecord> ReadAsync(int partition, long fromOffset, long toOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        fromOffset = Math.Max(0, fromOffset);
        if (partition != 0 || fromOffset >= toOffset)
        {
            yield break;
        }

        // What this instance has not seen yet reaches it through the live feed.
        var end = toOffset;
        if (state.Opened is not null)
        {
            end = Math.Min(toOffset, state.KnownHead);
            if (fromOffset >= end)
            {
                yield break;
            }
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        StreamSession? session = null;
        try
        {
            session = await StartAsync(fromOffset, toOffset, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var next = await NextWithinIdleAsync(session, fromOffset, toOffset, cancellationToken).ConfigureAwait(false);
                if (next is not { } delivery)
                {
                    yield break;
                }

                if (delivery.Offset < fromOffset)
                {
                    continue;
                }

                if (delivery.Offset >= toOffset)
                {
                    yield break;
                }

                yield return delivery.ToRecord();
                if (delivery.Offset >= end - 1)
                {
                    yield break;
                }
            }
        }
        finally
        {
            if (session is not null)
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }

            _gate.Release();
        }
    }

    public async Task<long> GetEarliestOffsetAsync(int partition, CancellationToken cancellationToken)
    {
        if (partition != 0)
        {
            return 0;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await connector.GetAsync(cancellationToken).ConfigureAwait(false);
            var earliest = await topology.ProbeFirstOffsetAsync(connection, "first", cancellationToken).ConfigureAwait(false);
            return earliest ?? state.KnownHead;
        }
        catch (Exception ex) when (ex is not (BrokerUnavailableException or OperationCanceledException))
        {
            throw new BrokerUnavailableException($"Cannot read the start of stream '{options.StreamName}': {RabbitMqConnector.Describe(ex)}", ex) { RetryAfter = TimeSpan.FromSeconds(1) };
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<StreamSession> StartAsync(long fromOffset, long toOffset, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await connector.GetAsync(cancellationToken).ConfigureAwait(false);
            return await StreamSession.StartAsync(connection, options.StreamName, options.Prefetch, fromOffset, time, logger, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (BrokerUnavailableException or OperationCanceledException))
        {
            Log.ReadFailed(logger, options.StreamName, fromOffset, toOffset, RabbitMqConnector.Describe(ex));
            throw new BrokerUnavailableException($"Cannot read back stream '{options.StreamName}': {RabbitMqConnector.Describe(ex)}", ex) { RetryAfter = TimeSpan.FromSeconds(1) };
        }
    }

    /// <summary>The next delivery, or null once none arrived for <see cref="RabbitMqBrokerOptions.ReadIdleTimeout"/>.</summary>
    private async Task<StreamDelivery?> NextWithinIdleAsync(StreamSession session, long fromOffset, long toOffset, CancellationToken cancellationToken)
    {
        var reader = session.Reader;
        if (reader.TryRead(out var ready))
        {
            return ready;
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(options.ReadIdleTimeout);
        try
        {
            if (await reader.WaitToReadAsync(idle.Token).ConfigureAwait(false) && reader.TryRead(out var delivery))
            {
                return delivery;
            }

            await reader.Completion.ConfigureAwait(false);
            throw new StreamSessionLostException("the consumer ended");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ReadFailed(logger, options.StreamName, fromOffset, toOffset, RabbitMqConnector.Describe(ex));
            throw new BrokerUnavailableException($"Reading back stream '{options.StreamName}' was interrupted: {RabbitMqConnector.Describe(ex)}", ex) { RetryAfter = TimeSpan.FromSeconds(1) };
        }
    }
}
