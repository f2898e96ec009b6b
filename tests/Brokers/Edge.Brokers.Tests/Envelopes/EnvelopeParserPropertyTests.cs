using System.Text;
using System.Text.Json;
using CsCheck;
using Edge.Brokers.Envelopes;
using Edge.Brokers.Tests.Cursors;
using Xunit;

namespace Edge.Brokers.Tests.Envelopes;

/// <summary>
/// Seeded property tests of the envelope parser (the publish API's and every broker message's
/// body): any bytes give an envelope or one precise error, never an exception; a well-formed
/// envelope reads back field for field; framing characters in an event name are always refused.
/// Corpus/envelopes.txt holds hand-picked inputs that are mutated further.
/// </summary>
public sealed class EnvelopeParserPropertyTests
{
    private const string Seed = "0N0XIzNsQ0O2";
    private const int Iterations = 3000;

    private static readonly Gen<string> Name = Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789.:_-"], 1, 40];

    /// <summary>Text without lone surrogates (they cannot be UTF-8), line breaks and controls included.</summary>
    private static readonly Gen<string> Text = Gen.String[Gen.OneOf(Gen.Char['\0', '\u00ff'], Gen.Char['\u0100', '\ud7ff'], Gen.Char["\r\n"]), 0, 60];

    private static void ParseIsTotal(byte[] bytes)
    {
        var ok = EnvelopeParser.TryParse(bytes, out var envelope, out var error);
        if (ok)
        {
            Assert.NotNull(envelope);
            Assert.Null(error);
            Assert.False(string.IsNullOrEmpty(envelope.Channel));
            Assert.DoesNotContain('\n', envelope.Event);
            Assert.DoesNotContain('\r', envelope.Event);
            Assert.DoesNotContain('\0', envelope.Event);
        }
        else
        {
            Assert.Null(envelope);
            Assert.NotNull(error);
            Assert.False(string.IsNullOrEmpty(error.Field));
            Assert.False(string.IsNullOrEmpty(error.Message));
        }
    }

    [Fact]
    public void AnyBytes_GiveAnEnvelopeOrOneError_NeverAnException()
    {
        Gen.Byte.Array[0, 200].Sample(ParseIsTotal, seed: Seed, iter: Iterations * 3, threads: 1);
    }

    [Fact]
    public void CorpusEntries_Mutated_GiveAnEnvelopeOrOneError()
    {
        var corpus = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Corpus", "envelopes.txt"));
        Assert.NotEmpty(corpus);
        foreach (var line in corpus)
        {
            ParseIsTotal(Encoding.UTF8.GetBytes(line));
        }

        Gen.Select(Gen.Int[0, corpus.Length - 1], Gen.Int[0, 3], Gen.Int[0, 4095], Gen.Char)
            .Select((i, kind, at, c) => EventCursorPropertyTests.Mutate(corpus[i], kind, at, c))
            .Sample(text => ParseIsTotal(Encoding.UTF8.GetBytes(text)), seed: Seed, iter: Iterations * 3, threads: 1);
    }

    [Fact]
    public void WellFormedEnvelope_ReadsBackFieldForField()
    {
        Gen.Select(Name, Name, Text, Name.Null(), Gen.Int[0, 1_000_000].Nullable()).Sample((channel, eventName, data, userId, retry) =>
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
            {
                ["channel"] = channel,
                ["event"] = eventName,
                ["data"] = data,
                ["userId"] = userId,
                ["retry"] = retry,
            });
            Assert.True(EnvelopeParser.TryParse(json, out var envelope, out var error), error?.ToString());
            Assert.Equal(channel, envelope.Channel);
            Assert.Equal(eventName, envelope.Event);
            Assert.Equal(data, envelope.Data.Text);
            Assert.False(envelope.Data.IsJson);
            Assert.Equal(userId, envelope.UserId);
            Assert.Equal(retry, envelope.Retry);
        }, seed: Seed, iter: Iterations, threads: 1);
    }

    [Fact]
    public void JsonData_IsKeptAsCompactJsonThatParsesToTheSameValue()
    {
        var value = Gen.Select(Text, Gen.Int, Gen.Bool).Select((s, i, b) => (object)new object[] { s, i, b, new Dictionary<string, object> { ["k"] = s } });
        Gen.Select(Name, value).Sample((channel, data) =>
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(new { channel, data });
            Assert.True(EnvelopeParser.TryParse(json, out var envelope, out var error), error?.ToString());
            Assert.True(envelope.Data.IsJson);
            Assert.Equal(JsonSerializer.Serialize(data), JsonSerializer.Serialize(JsonDocument.Parse(envelope.Data.Text).RootElement));
        }, seed: Seed, iter: Iterations, threads: 1);
    }

    [Fact]
    public void EventNameWithAFramingCharacter_IsAlwaysRefused()
    {
        Gen.Select(Name, Name, Gen.Char["\r\n\0"], Gen.Int[0, 40]).Sample((channel, eventName, bad, at) =>
        {
            var name = eventName.Insert(at % (eventName.Length + 1), bad.ToString());
            var json = JsonSerializer.SerializeToUtf8Bytes(new { channel, @event = name, data = 1 });
            Assert.False(EnvelopeParser.TryParse(json, out _, out var error));
            Assert.Equal("event", error.Field);
        }, seed: Seed, iter: Iterations, threads: 1);
    }
}
