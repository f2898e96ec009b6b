using System.Buffers;
using Edge.Brokers;
using Edge.Brokers.Cursors;
using Edge.Configuration;
using Edge.Connections;
using Edge.Diagnostics;
using Edge.Feed;
using Edge.Sse;

namespace Edge.Hub;

/// <summary>
/// Works out what a resuming connection missed: from the replay windows first, then by reading
/// back from the broker (a bounded number of reads at once), waiting briefly for this instance to
/// catch up with a cursor from one that read further; what cannot be recovered is a gap.
/// </summary>
internal sealed partial class ReplayPlanner(IEventBroker broker, PartitionLog log, RecordPreparer preparer, ReplayOptions replay, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>How often a catch-up looks at the partition's position again.</summary>
    private static readonly TimeSpan CatchUpPoll = TimeSpan.FromMilliseconds(20);

    private readonly SemaphoreSlim _brokerReads = new SemaphoreSlim(replay.BrokerReadConcurrency);

    /// <summary>
    /// Works out what a resuming connection missed, from memory first and then from the
    /// broker, and moves the connection's positions back to the cursor so that those events
    /// (and nothing before them) get written. Returns the events and, when some cannot be
    /// recovered, the gap reason.
    /// </summary>
    public async Task<ReplayPlan> PlanReplayAsync(SseConnection connection, string cursorText, CancellationToken cancellationToken)
    {
        if (!EventCursor.TryParse(cursorText, out var cursor))
        {
            return new ReplayPlan([], "malformed-cursor");
        }

        if (!string.Equals(cursor.Epoch, log.Epoch, StringComparison.Ordinal))
        {
            return new ReplayPlan([], "epoch-changed");
        }

        var events = new List<PreparedEvent>();
        var fromBroker = 0;
        string? gap = null;
        for (var i = 0; i < connection.Partitions.Length; i++)
        {
            var partition = connection.Partitions[i];
            if (!cursor.TryGetOffset(partition, out var from))
            {
                continue;
            }

            var to = connection.Offsets[i];
            if (from > to)
            {
                // Another instance read further than this one: wait for this one to catch up;
                // what it then reads below the cursor is dropped as already delivered.
                if (await CatchUpAsync(log.Get(partition), from, cancellationToken).ConfigureAwait(false))
                {
                    connection.Offsets[i] = from;
                }
                else
                {
                    gap ??= "cursor-ahead";
                }

                continue;
            }

            if (from == to)
            {
                continue;
            }

            var state = log.Get(partition);
            if (state.Window.TryCollect(from, to, connection.Wants, events))
            {
                connection.Offsets[i] = from;
                continue;
            }

            if (!replay.ReadFromBroker)
            {
                gap ??= "cursor-expired";
                continue;
            }

            var before = events.Count;
            if (await TryReadBackAsync(connection, partition, from, to, events, cancellationToken).ConfigureAwait(false))
            {
                connection.Offsets[i] = from;
                fromBroker += events.Count - before;
            }
            else
            {
                gap ??= "cursor-expired";
            }
        }

        return new ReplayPlan(events, gap, fromBroker);
    }

    private async Task<bool> CatchUpAsync(PartitionState state, long offset, CancellationToken cancellationToken)
    {
        var deadline = timeProvider.GetUtcNow() + replay.CatchUpTimeout;
        while (Volatile.Read(ref state.NextOffset) < offset)
        {
            if (timeProvider.GetUtcNow() >= deadline)
            {
                return false;
            }

            await Task.Delay(CatchUpPoll, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async Task<bool> TryReadBackAsync(SseConnection connection, int partition, long from, long to, List<PreparedEvent> into, CancellationToken cancellationToken)
    {
        await _brokerReads.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var earliest = await broker.GetEarliestOffsetAsync(partition, cancellationToken).ConfigureAwait(false);
            if (from < earliest)
            {
                return false;
            }

            var scratch = new ArrayBufferWriter<byte>(1024);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var record in broker.ReadAsync(partition, from, to, cancellationToken).ConfigureAwait(false))
            {
                var prepared = preparer.TryPrepare(record, scratch, deduplicate: false, out _);
                if (prepared is null || (prepared.MessageId is { } messageId && !seen.Add(messageId)))
                {
                    continue;
                }

                if (connection.Wants(prepared))
                {
                    into.Add(prepared);
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ReadBackFailed(logger, broker.Name, partition, from, ex);
            throw new BrokerUnavailableException("The broker could not serve the read-back of missed events.", ex);
        }
        finally
        {
            _brokerReads.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.BrokerReadBackFailed, Level = LogLevel.Warning, Message = "Reading back partition {Partition} from offset {Offset} on {Broker} failed")]
        public static partial void ReadBackFailed(ILogger logger, string broker, int partition, long offset, Exception exception);
    }
}
