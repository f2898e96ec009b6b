using System.Text;
using System.Text.Json;
using Edge.Brokers.Envelopes;
using Xunit;

namespace Edge.Brokers.Tests.Envelopes;

public sealed class EnvelopeParserTests
{
    private static bool Parse(string json, out EventEnvelope? envelope, out EnvelopeError? error) =>
        EnvelopeParser.TryParse(Encoding.UTF8.GetBytes(json), out envelope, out error);

    [Fact]
    public void TryParse_FullEnvelope_ReadsEveryField()
    {
        Assert.True(Parse("""{"channel":"orders","event":"notification","data":{"message":"Order #12345 shipped", "n": [1, 2]},"userId":"12345","sessionId":null,"retry":1500,"id":"m-1"}""", out var e, out _));

        Assert.Equal("orders", e!.Channel);
        Assert.Equal("notification", e.Event);
        Assert.True(e.Data.IsJson);
        Assert.Equal("""{"message":"Order #12345 shipped","n":[1,2]}""", e.Data.Text);
        Assert.Equal("12345", e.UserId);
        Assert.Null(e.SessionId);
        Assert.Equal(1500, e.Retry);
        Assert.Equal("m-1", e.Id);
    }

    [Fact]
    public void TryParse_EndStreamsControl_TargetsItsUserOnItsPersonalChannel_AndRoundTrips()
    {
        Assert.True(Parse("""{"control":"end-streams","userId":"12345"}""", out var e, out _));
        Assert.Equal((EventEnvelope.EndStreamsControl, "user:12345", "12345"), (e!.Control, e.Channel, e.UserId));

        Assert.True(EnvelopeParser.TryParse(EnvelopeWriter.ToUtf8Json(e), out var again, out _));
        Assert.Equal((e.Control, e.Channel, e.UserId), (again!.Control, again.Channel, again.UserId));
    }

    [Theory]
    [InlineData("""{"control":"end-streams","channel":"orders"}""", "end-streams needs userId or sessionId")]
    [InlineData("""{"control":"reboot","userId":"u1"}""", "must be 'end-streams'")]
    public void TryParse_BadControl_NamesTheField(string json, string message)
    {
        Assert.False(Parse(json, out _, out var error));
        Assert.Equal(("control", message), (error!.Field, error.Message));
    }

    [Fact]
    public void TryParse_NullData_IsTheJsonValueNull()
    {
        Assert.True(Parse("""{"channel":"c","data":null}""", out var e, out _));
        Assert.True(e!.Data.IsJson);
        Assert.Equal("null", e.Data.Text);
    }

    [Fact]
    public void TryParse_NoData_IsEmpty()
    {
        Assert.True(Parse("""{"channel":"c"}""", out var e, out _));
        Assert.Same(EnvelopeData.Empty, e!.Data);
    }

    [Fact]
    public void TryParse_StringData_IsKeptVerbatim()
    {
        Assert.True(Parse("""{"channel":"c","data":"line one\nline two"}""", out var e, out _));
        Assert.False(e!.Data.IsJson);
        Assert.Equal("line one\nline two", e.Data.Text);
        Assert.Equal("message", e.Event);
    }

    [Fact]
    public void TryParse_NonAsciiJsonData_StaysReadable()
    {
        Assert.True(Parse("""{"channel":"c","data":{"t":"Grüße <b>"}}""", out var e, out _));
        Assert.Equal("""{"t":"Grüße <b>"}""", e!.Data.Text);
    }

    [Theory]
    [InlineData("""{"userId":"12345","data":1}""", "user:12345")]
    [InlineData("""{"userId":12345,"data":1}""", "user:12345")]
    [InlineData("""{"sessionId":"abc","data":1}""", "session:abc")]
    public void TryParse_PersonalTarget_WithoutChannel_UsesPersonalChannel(string json, string channel)
    {
        Assert.True(Parse(json, out var e, out _));
        Assert.Equal(channel, e!.Channel);
    }

    [Theory]
    [InlineData("not json", "$")]
    [InlineData("[1,2]", "$")]
    [InlineData("{}", "channel")]
    [InlineData("""{"channel":""}""", "channel")]
    [InlineData("""{"channel":5}""", "channel")]
    [InlineData("""{"channel":"a,b"}""", "channel")]
    [InlineData("""{"channel":"a\nb"}""", "channel")]
    [InlineData("""{"channel":"c","event":"a\r\nb"}""", "event")]
    [InlineData("""{"channel":"c","event":"a\u0000b"}""", "event")]
    [InlineData("""{"channel":"c","event":""}""", "event")]
    [InlineData("""{"channel":"c","retry":-1}""", "retry")]
    [InlineData("""{"channel":"\ud800"}""", "channel")]
    [InlineData("""{"channel":"c","event":"x\udc00"}""", "event")]
    [InlineData("""{"channel":"c","userId":"\ud800"}""", "userId")]
    [InlineData("""{"channel":"c","data":"\ud800"}""", "data")]
    [InlineData("""{"channel":"c","retry":"soon"}""", "retry")]
    [InlineData("""{"channel":"c","id":"x\ny"}""", "id")]
    [InlineData("""{"channel":"c","userId":"u\r"}""", "userId")]
    [InlineData("""{"channel":"c"} trailing""", "$")]
    public void TryParse_Invalid_NamesTheField(string json, string field)
    {
        Assert.False(Parse(json, out var e, out var error));
        Assert.Null(e);
        Assert.Equal(field, error!.Field);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void TryRead_CollectsEveryErrorWithThePathPrefix()
    {
        using var document = JsonDocument.Parse("""{"channel":"a\nb","event":"x\ny","retry":-5}""");
        var errors = new List<EnvelopeError>();

        Assert.False(EnvelopeParser.TryRead(document.RootElement, "[3].", errors, out _));
        Assert.Equal(["[3].channel", "[3].event", "[3].retry"], errors.Select(e => e.Field).Order());
    }

    [Fact]
    public void Writer_RoundTripsThroughParser()
    {
        var original = new EventEnvelope
        {
            Channel = "orders",
            Event = "update",
            Data = EnvelopeData.FromJson("""{"a":[1,2,{"b":null}]}"""),
            UserId = "u1",
            SessionId = "s1",
            Retry = 250,
            Id = "abc",
        };

        Assert.True(EnvelopeParser.TryParse(EnvelopeWriter.ToUtf8Json(original), out var copy, out _));
        Assert.Equal(original.Channel, copy!.Channel);
        Assert.Equal(original.Event, copy.Event);
        Assert.Equal(original.Data, copy.Data);
        Assert.Equal(original.UserId, copy.UserId);
        Assert.Equal(original.SessionId, copy.SessionId);
        Assert.Equal(original.Retry, copy.Retry);
        Assert.Equal(original.Id, copy.Id);
    }

    [Fact]
    public void Writer_TextData_RoundTripsLineBreaks()
    {
        var original = new EventEnvelope { Channel = "c", Data = EnvelopeData.FromText("a\r\nb\"c") };
        Assert.True(EnvelopeParser.TryParse(EnvelopeWriter.ToUtf8Json(original), out var copy, out _));
        Assert.Equal(original.Data, copy!.Data);
    }
}
