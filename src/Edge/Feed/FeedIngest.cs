using System.Buffers;
using Edge.Brokers;
using Edge.Diagnostics;

namespace Edge.Feed;

/// <summary>
/// Takes each record of the live feed (one reader, one thread): parse, drop duplicates, encode
/// once, keep in its partition's replay window and hand to the live connections' sink. Records from
/// before the head (a look-back) only warm the window.
/// </summary>
/// <remarks>An <c>end-streams</c> control record goes to <paramref name="endStreams"/> instead of the live sink.</remarks>
internal sealed partial class FeedIngest(PartitionLog log, RecordPreparer preparer, ILiveEventSink live, Action<StreamEnding> endStreams, EdgeMetrics metrics, TimeProvider timeProvider, ILogger logger)
{
    private readonly ArrayBufferWriter<byte> _feedScratch = new(4096);

    /// <summary>Takes one record from the feed: parse, drop duplicates, encode once, keep, dispatch.</summary>
    public void Ingest(BrokerRecord record)
    {
        metrics.RecordRead(record.Timestamp == default ? 0 : record.Timestamp.UtcTicks, timeProvider.GetUtcNow().UtcTicks);
        var state = log.Get(record.Partition);
        if (record.Offset < Volatile.Read(ref state.NextOffset))
        {
            WarmUp(state, record);
            return;
        }

        state.WarmUpNext = record.Offset + 1;
        if (state.WarmUpStart is { } start)
        {
            // The first live record: the look-back before it is complete.
            state.WarmUpStart = null;
            state.Window.CoverFrom(start);
        }

        var prepared = preparer.TryPrepare(record, _feedScratch, deduplicate: true, out var malformed, out var ending);
        if (prepared is null)
        {
            if (ending is not null)
            {
                endStreams(ending);
            }
            else if (malformed is not null)
            {
                metrics.RecordMalformed();
                Log.MalformedRecord(logger, record.Partition, record.Offset, malformed);
            }
            else
            {
                metrics.RecordDuplicate();
                Log.DuplicateRecord(logger, record.Partition, record.Offset);
            }

            Interlocked.Exchange(ref state.NextOffset, record.Offset + 1);
            return;
        }

        state.Window.Append(prepared);

        // The full fence orders this position before reading the subscribers; registration
        // orders its index entry before reading positions. Either the connection is in the
        // snapshot below, or its starting position already includes this event.
        Interlocked.Exchange(ref state.NextOffset, record.Offset + 1);

        live.Offer(prepared);
    }

    /// <summary>
    /// A record from before the head, read because of a look-back: it goes into the replay
    /// window (once, in order) for resuming clients, never to live connections.
    /// </summary>
    private void WarmUp(PartitionState state, BrokerRecord record)
    {
        if (record.Offset < state.WarmUpNext)
        {
            return;
        }

        state.WarmUpNext = record.Offset + 1;
        var prepared = preparer.TryPrepare(record, _feedScratch, deduplicate: true, out var malformed);
        if (prepared is not null)
        {
            state.Window.Append(prepared);
        }
        else if (malformed is not null)
        {
            metrics.RecordMalformed();
            Log.MalformedRecord(logger, record.Partition, record.Offset, malformed);
        }

        if (state.WarmUpNext >= Volatile.Read(ref state.NextOffset) && state.WarmUpStart is { } start)
        {
            // Until the look-back reaches the head, resumes are served by read-back instead.
            state.WarmUpStart = null;
            state.Window.CoverFrom(start);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.MalformedRecord, Level = LogLevel.Warning, Message = "Skipped the malformed record at partition {Partition} offset {Offset}: {Reason}")]
        public static partial void MalformedRecord(ILogger logger, int partition, long offset, string reason);

        [LoggerMessage(EventId = EdgeEventIds.DuplicateRecord, Level = LogLevel.Debug, Message = "Dropped the record at partition {Partition} offset {Offset}: its message id was already delivered")]
        public static partial void DuplicateRecord(ILogger logger, int partition, long offset);
    }
}
