using System.Buffers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.RegularExpressions;
using CsCheck;
using Edge.Brokers;
using Edge.Brokers.Cursors;
using Edge.Brokers.Envelopes;
using Edge.Sse;
using Xunit;

namespace Edge.Tests.Sse;

/// <summary>
/// Seeded property tests of the SSE frame encoder: whatever the event name, data text and
/// position, what the encoder writes is read back by an independent parser (the runtime's
/// <see cref="SseParser"/>) as exactly one event with that name, that data (line breaks
/// normalized to LF, as the SSE spec says) and the cursor as its id.
/// </summary>
public sealed partial class SseFrameEncoderPropertyTests
{
    private const string Seed = "0N0XIzNsQ0O2";

    private static readonly Gen<string> EventName = Gen.String[Gen.OneOf(Gen.Char['\u0001', '\u0009'], Gen.Char['\u000b', '\u000c'], Gen.Char['\u000e', '\u00ff'], Gen.Char['\u0100', '\ud7ff']), 1, 30];

    private static readonly Gen<string> DataText = Gen.String[Gen.OneOf(Gen.Char['\0', '\u00ff'], Gen.Char['\u0100', '\ud7ff'], Gen.Char["\r\n \t:"]), 0, 80];

    [GeneratedRegex("\r\n|\r|\n")]
    private static partial Regex LineBreak();

    [Fact]
    public void Encode_ThenParseWithSseParser_GivesTheSameEvent()
    {
        Gen.Select(EventName, DataText, Gen.Int[0, 511], Gen.Long[0, long.MaxValue - 1], Gen.Int[0, 100_000].Nullable()).Sample((eventName, data, partition, offset, retry) =>
        {
            var envelope = new EventEnvelope { Channel = "c", Event = eventName, Data = EnvelopeData.FromText(data), Retry = retry };
            var record = new BrokerRecord(partition, offset, DateTimeOffset.UnixEpoch, ReadOnlyMemory<byte>.Empty);
            var frame = SseFrameEncoder.Encode(envelope, "ep1", record, new ArrayBufferWriter<byte>()).Frame;

            var parser = SseParser.Create(new MemoryStream(frame), (type, bytes) => Encoding.UTF8.GetString(bytes));
            var items = parser.Enumerate().ToList();
            var item = Assert.Single(items);
            Assert.Equal(eventName, item.EventType);
            Assert.Equal(LineBreak().Replace(data, "\n"), item.Data);
            Assert.Equal(EventCursor.Format("ep1", new LogPosition(partition, offset + 1)), parser.LastEventId);
            if (retry is { } r)
            {
                Assert.Equal(TimeSpan.FromMilliseconds(r), parser.ReconnectionInterval);
            }
        }, seed: Seed, iter: 3000, threads: 1);
    }

    [Fact]
    public void NamedEventFrame_ThenParse_GivesTheSameEvent()
    {
        Gen.Select(EventName, DataText).Sample((eventName, data) =>
        {
            var frame = SseFrameEncoder.Event(eventName, data, id: "ep1-7");
            var parser = SseParser.Create(new MemoryStream(frame), (type, bytes) => Encoding.UTF8.GetString(bytes));
            var item = Assert.Single(parser.Enumerate().ToList());
            Assert.Equal(eventName, item.EventType);
            Assert.Equal(LineBreak().Replace(data, "\n"), item.Data);
            Assert.Equal("ep1-7", parser.LastEventId);
        }, seed: Seed, iter: 2000, threads: 1);
    }

    [Fact]
    public void CommentFrame_IsNoEventForAParser()
    {
        Gen.String[Gen.OneOf(Gen.Char['\u0020', '\u00ff'], Gen.Char['\u0100', '\ud7ff']), 0, 40].Sample(text =>
        {
            var parser = SseParser.Create(new MemoryStream(SseFrameEncoder.Comment(text)), (type, bytes) => Encoding.UTF8.GetString(bytes));
            Assert.Empty(parser.Enumerate().ToList());
        }, seed: Seed, iter: 1000, threads: 1);
    }
}
