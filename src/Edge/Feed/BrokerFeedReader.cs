using Edge.Brokers;
using Edge.Brokers.Cursors;
using Edge.Diagnostics;

namespace Edge.Feed;

/// <summary>
/// The one reader of the broker's whole log: opens it (retrying while the broker is down),
/// subscribes and hands every record to <see cref="FeedIngest"/>, resubscribing after a failure
/// and reopening for a new epoch when the log lost its history (then it calls the history-lost action it was given: the hub closes every stream).
/// </summary>
internal sealed partial class BrokerFeedReader(IEventBroker broker, PartitionLog log, FeedIngest ingest, Action historyLost, EdgeMetrics metrics, TimeProvider timeProvider, ILogger logger)
{
    private static readonly TimeSpan FirstOpenRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan FirstResubscribe = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the log was first opened; cancelled when stopped before.</summary>
    public Task WhenOpen => _opened.Task;

    /// <summary>Opens the log and then reads it until <paramref name="cancellationToken"/> stops it.</summary>
    public async Task ReadAsync(CancellationToken cancellationToken)
    {
        await OpenAsync(cancellationToken).ConfigureAwait(false);
        var delay = FirstResubscribe;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var record in broker.SubscribeAsync(cancellationToken).ConfigureAwait(false))
                {
                    ingest.Ingest(record);
                    delay = FirstResubscribe;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (LogHistoryLostException ex)
            {
                // Positions of the old epoch mean nothing now: take the new epoch and send every
                // client back to reconnect, where its old cursor earns the gap signal.
                Log.HistoryLost(logger, broker.Name, ex);
                metrics.BrokerReconnect();
                await OpenAsync(cancellationToken).ConfigureAwait(false);
                historyLost();
            }
            catch (Exception ex)
            {
                // Resubscribing is safe: records at or below each partition's position are dropped.
                Log.FeedFailed(logger, broker.Name, delay.TotalMilliseconds, ex);
                metrics.BrokerReconnect();
                await Task.Delay(delay, timeProvider, cancellationToken).ConfigureAwait(false);
                delay = Longer(delay);
            }
        }

        Log.HubStopped(logger);
    }

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        var delay = FirstOpenRetry;
        while (true)
        {
            try
            {
                var snapshot = await broker.OpenAsync(cancellationToken).ConfigureAwait(false);
                if (!EventCursor.IsValidEpoch(snapshot.Epoch))
                {
                    throw new InvalidOperationException($"The {broker.Name} broker reported the invalid epoch '{snapshot.Epoch}'.");
                }

                log.Reset(snapshot);
                Log.BrokerOpened(logger, broker.Name, snapshot.Epoch, snapshot.PartitionCount);
                _opened.TrySetResult();
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _opened.TrySetCanceled(cancellationToken);
                throw;
            }
            catch (Exception ex)
            {
                Log.BrokerOpenFailed(logger, broker.Name, delay.TotalMilliseconds, ex);
                await Task.Delay(delay, timeProvider, cancellationToken).ConfigureAwait(false);
                delay = Longer(delay);
            }
        }
    }

    /// <summary>The next retry delay: twice the last, at most <see cref="LongestRetry"/>.</summary>
    private static TimeSpan Longer(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestRetry.Ticks));

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.BrokerOpened, Level = LogLevel.Information, Message = "Opened the {Broker} log: epoch {Epoch}, {Partitions} partition(s)")]
        public static partial void BrokerOpened(ILogger logger, string broker, string epoch, int partitions);

        [LoggerMessage(EventId = EdgeEventIds.BrokerOpenFailed, Level = LogLevel.Warning, Message = "Could not open the {Broker} log; retrying in {DelayMs} ms")]
        public static partial void BrokerOpenFailed(ILogger logger, string broker, double delayMs, Exception exception);

        [LoggerMessage(EventId = EdgeEventIds.BrokerFeedFailed, Level = LogLevel.Error, Message = "The {Broker} feed failed; resubscribing in {DelayMs} ms")]
        public static partial void FeedFailed(ILogger logger, string broker, double delayMs, Exception exception);

        [LoggerMessage(EventId = EdgeEventIds.HistoryLost, Level = LogLevel.Error, Message = "The {Broker} log lost its history; reopening for a new epoch and closing open streams so they reconnect")]
        public static partial void HistoryLost(ILogger logger, string broker, Exception exception);

        [LoggerMessage(EventId = EdgeEventIds.HubStopped, Level = LogLevel.Information, Message = "The event hub stopped reading")]
        public static partial void HubStopped(ILogger logger);
    }
}
