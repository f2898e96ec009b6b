using CsCheck;
using Edge.Brokers.Cursors;
using Xunit;

namespace Edge.Brokers.Tests.Cursors;

/// <summary>
/// Seeded property tests of the cursor parser: every cursor the edge writes reads back the same,
/// and no text at all (random, or a corpus entry from Corpus/cursors.txt mutated) makes it throw;
/// what it accepts is canonical. The seed is fixed so a run is repeatable; a failure prints the
/// shrunk input.
/// </summary>
public sealed class EventCursorPropertyTests
{
    private const string Seed = "0N0XIzNsQ0O2";
    private const int Iterations = 3000;

    private static readonly Gen<string> Epoch = Gen.String[Gen.Char["0123456789abcdefghijklmnopqrstuvwxyz"], 1, EventCursor.MaxEpochLength];

    private static readonly Gen<LogPosition[]> Positions =
        Gen.Int[0, EventCursor.MaxPartitions - 1].HashSet[1, 12].SelectMany(set =>
            Gen.Long[0, long.MaxValue].Array[set.Count].Select(offsets =>
                set.Order().Select((p, i) => new LogPosition(p, offsets[i])).ToArray()));

    private static readonly Gen<string> AnyText = Gen.OneOf(
        Gen.String,
        Gen.String[Gen.Char["0123456789abcz-._ +"], 0, 40],
        Gen.String[Gen.Char['\0', '\u00ff'], 0, 80]);

    [Fact]
    public void FormatThenParse_ReturnsTheSameEpochAndPositions()
    {
        Gen.Select(Epoch, Positions).Sample((epoch, positions) =>
        {
            var text = new EventCursor(epoch, positions).ToString();
            Assert.True(EventCursor.TryParse(text, out var parsed), text);
            Assert.Equal(epoch, parsed.Epoch);
            Assert.Equal(positions, parsed.Positions);
        }, seed: Seed, iter: Iterations, threads: 1);
    }

    [Fact]
    public void AnyText_NeverThrows_AndWhatParsesIsCanonical()
    {
        AnyText.Sample(text =>
        {
            if (EventCursor.TryParse(text, out var cursor))
            {
                var again = cursor.ToString();
                Assert.True(EventCursor.TryParse(again, out var reparsed), again);
                Assert.Equal(again, reparsed.ToString());
                Assert.Equal(cursor.Positions, reparsed.Positions);
            }
        }, seed: Seed, iter: Iterations * 3, threads: 1);
    }

    [Fact]
    public void CorpusEntries_Mutated_NeverThrow()
    {
        var corpus = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Corpus", "cursors.txt"));
        Assert.NotEmpty(corpus);
        var mutated = Gen.Select(Gen.Int[0, corpus.Length - 1], Gen.Int[0, 3], Gen.Int[0, 4095], Gen.Char).Select((i, kind, at, c) => Mutate(corpus[i], kind, at, c));
        mutated.Sample(text =>
        {
            if (EventCursor.TryParse(text, out var cursor))
            {
                Assert.True(EventCursor.TryParse(cursor.ToString(), out _));
            }
        }, seed: Seed, iter: Iterations * 3, threads: 1);
    }

    internal static string Mutate(string s, int kind, int at, char c)
    {
        if (s.Length == 0)
        {
            return c.ToString();
        }

        var i = at % s.Length;
        return kind switch
        {
            0 => s.Remove(i, 1),
            1 => s.Insert(i, c.ToString()),
            2 => s[..i] + c + s[(i + 1)..],
            _ => s + s[i..],
        };
    }
}
