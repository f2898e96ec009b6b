using System.Text;
using Edge.Brokers.Cursors;
using Xunit;

namespace Edge.Brokers.Tests.Cursors;

public sealed class EventCursorTests
{
    [Theory]
    [InlineData("k2f9x1-42", "k2f9x1", 0, 42L)]
    [InlineData("a-0", "a", 0, 0L)]
    [InlineData("abc-3.17", "abc", 3, 17L)]
    public void TryParse_SinglePosition_ReadsEpochPartitionAndOffset(string text, string epoch, int partition, long offset)
    {
        Assert.True(EventCursor.TryParse(text, out var cursor));
        Assert.Equal(epoch, cursor.Epoch);
        Assert.Equal([new LogPosition(partition, offset)], cursor.Positions);
        Assert.Equal(text, cursor.ToString());
    }

    [Fact]
    public void TryParse_SeveralPartitions_RoundTrips()
    {
        Assert.True(EventCursor.TryParse("k2f9x1-0.42_3.17_7.9", out var cursor));
        Assert.Equal([new(0, 42), new(3, 17), new(7, 9)], cursor.Positions);
        Assert.Equal("k2f9x1-0.42_3.17_7.9", cursor.ToString());
        Assert.True(cursor.TryGetOffset(3, out var offset));
        Assert.Equal(17, offset);
        Assert.False(cursor.TryGetOffset(4, out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("abc")]
    [InlineData("abc-")]
    [InlineData("-42")]
    [InlineData("ABC-42")]
    [InlineData("abc-4 2")]
    [InlineData("abc--42")]
    [InlineData("abc-42_")]
    [InlineData("abc-1.2_1.3")]
    [InlineData("abc-3.1_1.2")]
    [InlineData("abc-1.")]
    [InlineData("abc-.1")]
    [InlineData("abc-99999999999999999999")]
    [InlineData("abc-1.2.3")]
    [InlineData("abc-42\r\nid: x")]
    [InlineData("abc-42\0")]
    [InlineData("1642678901234")]
    [InlineData("abc-+1")]
    [InlineData("abc-١٢")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789-1")]
    public void TryParse_Garbage_ReturnsFalse(string? text)
    {
        Assert.False(EventCursor.TryParse(text, out var cursor));
        Assert.Null(cursor);
    }

    [Fact]
    public void TryParse_Oversized_ReturnsFalse()
    {
        var text = "abc-" + string.Join('_', Enumerable.Range(0, 2000).Select(p => $"{p}.1"));
        Assert.False(EventCursor.TryParse(text, out _));
    }

    [Fact]
    public void TryParse_RandomBytes_NeverThrows()
    {
        var random = new Random(1234);
        for (var i = 0; i < 20_000; i++)
        {
            var chars = new char[random.Next(0, 40)];
            for (var j = 0; j < chars.Length; j++)
            {
                const string alphabet = "abc019-._\r\n\0xyz~%";
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }

            if (EventCursor.TryParse(new string(chars), out var cursor))
            {
                Assert.True(EventCursor.TryParse(cursor.ToString(), out var again));
                Assert.Equal(cursor.Positions, again.Positions);
            }
        }
    }

    [Theory]
    [InlineData(new[] { 0 }, new[] { 42L }, "ep-42")]
    [InlineData(new[] { 5 }, new[] { 7L }, "ep-5.7")]
    [InlineData(new[] { 0, 2 }, new[] { 1L, 9L }, "ep-0.1_2.9")]
    public void Write_MatchesToString(int[] partitions, long[] offsets, string expected)
    {
        var buffer = new byte[64];
        var written = EventCursor.Write(buffer, "ep"u8, partitions, offsets);

        Assert.Equal(expected, Encoding.ASCII.GetString(buffer, 0, written));
        Assert.Equal(expected, new EventCursor("ep", partitions.Select((p, i) => new LogPosition(p, offsets[i]))).ToString());
    }

    [Fact]
    public void Write_TooSmallBuffer_ReturnsMinusOne()
    {
        Assert.Equal(-1, EventCursor.Write(new byte[4], "epoch"u8, [0], [123]));
    }

    [Fact]
    public void Constructor_RejectsBadEpochAndDuplicatePartitions()
    {
        Assert.Throws<ArgumentException>(() => new EventCursor("Bad-Epoch", [new LogPosition(0, 1)]));
        Assert.Throws<ArgumentException>(() => new EventCursor("ok", [new LogPosition(1, 1), new LogPosition(1, 2)]));
        Assert.Throws<ArgumentException>(() => new EventCursor("ok", []));
    }
}
