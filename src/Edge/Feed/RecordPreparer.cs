using System.Buffers;
using Edge.Brokers;
using Edge.Brokers.Envelopes;
using Edge.Configuration;
using Edge.Sse;

namespace Edge.Feed;

/// <summary>
/// Turns a broker record into a <see cref="PreparedEvent"/>: checks its size, parses its envelope,
/// drops a repeated message id (feed only) and encodes it once under the log's epoch.
/// </summary>
internal sealed class RecordPreparer(ReplayOptions replay, PartitionLog log)
{
    private readonly MessageIdDeduplicator _deduplicator = new MessageIdDeduplicator(replay.DeduplicationIds);

    /// <summary>
    /// The encoded event, or null: with <paramref name="malformed"/> set when the record cannot be
    /// used, without when it repeats a message id already seen (only when <paramref name="deduplicate"/>,
    /// which only the feed's single reader may ask for).
    /// </summary>
    public PreparedEvent? TryPrepare(BrokerRecord record, ArrayBufferWriter<byte> scratch, bool deduplicate, out string? malformed) =>
        TryPrepare(record, scratch, deduplicate, out malformed, out _);

    /// <summary>As above; a control record is no event: it comes back as <paramref name="ending"/> (null result, no <paramref name="malformed"/>).</summary>
    public PreparedEvent? TryPrepare(BrokerRecord record, ArrayBufferWriter<byte> scratch, bool deduplicate, out string? malformed, out StreamEnding? ending)
    {
        malformed = null;
        ending = null;
        if (record.Body.Length > replay.MaxEnvelopeBytes)
        {
            malformed = $"the body is {record.Body.Length} bytes, over Edge:Replay:MaxEnvelopeBytes ({replay.MaxEnvelopeBytes})";
            return null;
        }

        if (!EnvelopeParser.TryParse(record.Body.Span, out var envelope, out var error))
        {
            malformed = error.ToString();
            return null;
        }

        var messageId = record.MessageId ?? envelope.Id;
        if (deduplicate && messageId is not null && !_deduplicator.FirstTime(messageId))
        {
            return null;
        }

        if (envelope.Control is not null)
        {
            ending = new StreamEnding(envelope.UserId, envelope.SessionId, record.Partition, record.Offset);
            return null;
        }

        return SseFrameEncoder.Encode(envelope, log.Epoch, record, scratch);
    }
}
