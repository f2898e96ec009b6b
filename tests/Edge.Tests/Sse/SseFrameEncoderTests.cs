using System.Buffers;
using System.Net.ServerSentEvents;
using System.Text;
using Edge.Brokers;
using Edge.Brokers.Envelopes;
using Edge.Sse;
using Xunit;

namespace Edge.Tests.Sse;

public sealed class SseFrameEncoderTests
{
    private static string Encode(EventEnvelope envelope, int partition = 0, long offset = 41)
    {
        var record = new BrokerRecord(partition, offset, DateTimeOffset.UnixEpoch, ReadOnlyMemory<byte>.Empty);
        var prepared = SseFrameEncoder.Encode(envelope, "ep1", record, new ArrayBufferWriter<byte>());
        return Encoding.UTF8.GetString(prepared.Frame);
    }

    [Fact]
    public void Encode_NamedJsonEvent_WritesEventDataAndCursorId()
    {
        var text = Encode(new EventEnvelope { Channel = "orders", Event = "notification", Data = EnvelopeData.FromJson("""{"message":"Order #12345 shipped"}""") });

        Assert.Equal("event: notification\ndata: {\"message\":\"Order #12345 shipped\"}\nid: ep1-42\n\n", text);
    }

    [Fact]
    public void Encode_DefaultEventType_OmitsEventLine()
    {
        Assert.Equal("data: hi\nid: ep1-42\n\n", Encode(new EventEnvelope { Channel = "c", Data = EnvelopeData.FromText("hi") }));
    }

    [Theory]
    [InlineData("a\nb", "data: a\ndata: b\n")]
    [InlineData("a\r\nb", "data: a\ndata: b\n")]
    [InlineData("a\rb", "data: a\ndata: b\n")]
    [InlineData("a\n\nb", "data: a\ndata: \ndata: b\n")]
    [InlineData("a\n", "data: a\ndata: \n")]
    [InlineData("", "data: \n")]
    [InlineData(": not a comment", "data: : not a comment\n")]
    public void Encode_TextData_SplitsOnEveryLineBreak(string data, string expectedDataLines)
    {
        Assert.Equal(expectedDataLines + "id: ep1-42\n\n", Encode(new EventEnvelope { Channel = "c", Data = EnvelopeData.FromText(data) }));
    }

    [Fact]
    public void Encode_Retry_WritesRetryLine()
    {
        Assert.Equal("event: e\nretry: 2500\ndata: x\nid: ep1-42\n\n", Encode(new EventEnvelope { Channel = "c", Event = "e", Retry = 2500, Data = EnvelopeData.FromText("x") }));
    }

    [Fact]
    public void Encode_OtherPartition_CursorNamesThePartition()
    {
        Assert.EndsWith("id: ep1-3.8\n\n", Encode(new EventEnvelope { Channel = "c", Data = EnvelopeData.FromText("x") }, partition: 3, offset: 7), StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_BodyLength_EndsBeforeTheIdLine()
    {
        var record = new BrokerRecord(0, 1, DateTimeOffset.UnixEpoch, ReadOnlyMemory<byte>.Empty);
        var prepared = SseFrameEncoder.Encode(new EventEnvelope { Channel = "c", Event = "e", Data = EnvelopeData.FromText("x") }, "ep1", record, new ArrayBufferWriter<byte>());
        Assert.Equal("event: e\ndata: x\n", Encoding.UTF8.GetString(prepared.Frame, 0, prepared.BodyLength));
    }

    [Theory]
    [InlineData("line one\nline two\r\nline three", "notification")]
    [InlineData("{\"a\":1}", "update")]
    [InlineData("ünïcødé ✓", "message")]
    public void Encode_RoundTripsThroughSseParser(string data, string eventType)
    {
        var text = Encode(new EventEnvelope { Channel = "c", Event = eventType, Data = EnvelopeData.FromText(data) })
            + Encoding.UTF8.GetString(SseFrameEncoder.Comment("keepalive"));

        var parser = SseParser.Create(new MemoryStream(Encoding.UTF8.GetBytes(text)));
        var items = parser.Enumerate().ToList();

        var item = Assert.Single(items);
        Assert.Equal(eventType, item.EventType);
        Assert.Equal(data.Replace("\r\n", "\n", StringComparison.Ordinal), item.Data);
        Assert.Equal("ep1-42", parser.LastEventId);
    }

    [Fact]
    public void Signals_HaveExactWireForm()
    {
        Assert.Equal(":ok\n\n", Encoding.UTF8.GetString(SseFrameEncoder.Comment("ok")));
        Assert.Equal("event: heartbeat\ndata: {}\n\n", Encoding.UTF8.GetString(SseFrameEncoder.Event("heartbeat", "{}")));
        Assert.Equal("retry: 1000\n\n", Encoding.UTF8.GetString(SseFrameEncoder.Retry(1000)));
        Assert.Equal("id: ep1-5\n\n", Encoding.UTF8.GetString(SseFrameEncoder.IdOnly("ep1-5")));
        Assert.Equal("event: edge-gap\ndata: {\"reason\":\"x\"}\nid: ep1-5\n\n", Encoding.UTF8.GetString(SseFrameEncoder.Event("edge-gap", "{\"reason\":\"x\"}", "ep1-5")));
    }

    [Fact]
    public void IdOnlyBlock_SetsLastEventIdWithoutDispatching()
    {
        var parser = SseParser.Create(new MemoryStream(SseFrameEncoder.IdOnly("ep1-5")));
        Assert.Empty(parser.Enumerate().ToList());
        Assert.Equal("ep1-5", parser.LastEventId);
    }
}
