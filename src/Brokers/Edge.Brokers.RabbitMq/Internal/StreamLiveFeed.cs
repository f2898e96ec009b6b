using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// The live feed: one stream consumer from where the open left off, re-created after every loss
/// at the offset after the last record yielded, with backoff. Before a re-created consumer reads,
/// the <see cref="EpochResolver"/> checks that the stream still holds the history being read;
/// when it does not, the feed stops for good until the broker is opened again.
/// </summary>
internal sealed class StreamLiveFeed(RabbitMqBrokerOptions options, RabbitMqConnector connector, EpochResolver epochs, StreamState state, ILogger logger, TimeProvider time)
{
    private volatile bool _stopped;

    /// <summary>Ends the retrying: a start that fails after this is not tried again.</summary>
    public void Stop() => _stopped = true;

    public async IAsyncEnumerable<BrokerRecord> SubscribeAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var opened = state.Opened ?? throw new InvalidOperationException("OpenAsync must complete before SubscribeAsync.");
        if (state.HistoryLost is { } lost)
        {
            throw new LogHistoryLostException($"The history of stream '{options.StreamName}' was lost ({lost}); reopen the broker.");
        }

        // A new subscription after a failed one continues the instance's feed; the last record is
        // yielded again in case the caller failed while handling it (it drops what it already has).
        var lastYielded = state.LastYielded;
        var resume = lastYielded >= 0 ? lastYielded : opened.Start;
        StreamSession? session = null;
        var reconnect = false;
        try
        {
            while (true)
            {
                if (session is null)
                {
                    session = await StartAsync(opened.Epoch, resume, reconnect, cancellationToken).ConfigureAwait(false);
                    reconnect = true;
                }

                var reader = session.Reader;
                if (!reader.TryRead(out var delivery))
                {
                    var ended = await WaitForDeliveryAsync(reader, cancellationToken).ConfigureAwait(false);
                    if (ended is not null)
                    {
                        state.FeedProblem = ended;
                        Log.FeedInterrupted(logger, options.StreamName, resume - 1, ended, 0);
                        await session.DisposeAsync().ConfigureAwait(false);
                        session = null;
                    }

                    continue;
                }

                if (delivery.Offset < resume)
                {
                    Log.SkippedDuplicate(logger, delivery.Offset, options.StreamName, resume);
                    continue;
                }

                resume = delivery.Offset + 1;
                state.Yielding(delivery.Offset);
                yield return delivery.ToRecord();
            }
        }
        finally
        {
            if (session is not null)
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Starts (or re-starts) the consumer, retrying with backoff until it runs.</summary>
    private async Task<StreamSession> StartAsync(string epoch, long resume, bool reconnect, CancellationToken cancellationToken)
    {
        var delay = options.ReconnectDelayMin;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await connector.GetAsync(cancellationToken).ConfigureAwait(false);
                if (reconnect)
                {
                    await epochs.VerifyHistoryAsync(connection, epoch, resume, cancellationToken).ConfigureAwait(false);
                }

                var session = await StreamSession.StartAsync(connection, options.StreamName, options.Prefetch, resume, time, logger, cancellationToken).ConfigureAwait(false);
                state.FeedProblem = null;
                if (reconnect)
                {
                    Log.FeedResumed(logger, options.StreamName, resume, attempt);
                }
                else
                {
                    Log.FeedStarted(logger, options.StreamName, resume);
                }

                return session;
            }
            catch (HistoryLostException ex)
            {
                state.HistoryLost = ex.Message;
                Log.HistoryLost(logger, options.StreamName, ex.Message);
                throw new LogHistoryLostException($"The history of stream '{options.StreamName}' was lost: {ex.Message}. Reopen the broker.", ex);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && !_stopped)
            {
                state.FeedProblem = RabbitMqConnector.Describe(ex);
                var jittered = delay + TimeSpan.FromMilliseconds(Random.Shared.Next((int)Math.Max(1, delay.TotalMilliseconds / 4)));
                Log.FeedInterrupted(logger, options.StreamName, resume - 1, RabbitMqConnector.Describe(ex), (long)jittered.TotalMilliseconds);
                await Task.Delay(jittered, time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.ReconnectDelayMax.Ticks));
            }
        }
    }

    /// <summary>Null when a delivery is ready; otherwise why the session ended.</summary>
    private static async Task<string?> WaitForDeliveryAsync(ChannelReader<StreamDelivery> reader, CancellationToken cancellationToken)
    {
        try
        {
            if (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            await reader.Completion.ConfigureAwait(false);
            return "the consumer ended";
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return RabbitMqConnector.Describe(ex);
        }
    }
}
