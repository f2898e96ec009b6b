using Edge.Configuration;
using Edge.Feed;
using Edge.Sse;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Edge.Tests.Feed;

public sealed class ReplayWindowTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-24T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private PreparedEvent Event(long offset, int size = 10, string channel = "c") =>
        new(0, offset, channel, null, null, null, _time.GetUtcNow().UtcTicks, new byte[size], size);

    private static List<long> Collect(ReplayWindow window, long from, long to)
    {
        var into = new List<PreparedEvent>();
        Assert.True(window.TryCollect(from, to, _ => true, into));
        return into.Select(e => e.Offset).ToList();
    }

    [Fact]
    public void TryCollect_ReturnsTheRequestedRange()
    {
        var window = new ReplayWindow(new ReplayOptions(), _time, firstCovered: 0);
        for (var i = 0; i < 10; i++)
        {
            window.Append(Event(i));
        }

        Assert.Equal([3L, 4, 5, 6], Collect(window, 3, 7));
        Assert.Empty(Collect(window, 10, 10));
    }

    [Fact]
    public void CountLimit_EvictsOldest_AndCursorsBeforeItAreNotCovered()
    {
        var window = new ReplayWindow(new ReplayOptions { MaxEvents = 5 }, _time, firstCovered: 0);
        for (var i = 0; i < 8; i++)
        {
            window.Append(Event(i));
        }

        Assert.Equal(5, window.Count);
        Assert.Equal(3, window.FirstCovered);
        Assert.False(window.TryCollect(2, 8, _ => true, []));
        Assert.Equal([3L, 4, 5, 6, 7], Collect(window, 3, 8));
    }

    [Fact]
    public void ByteLimit_EvictsUntilTheNewEventFits()
    {
        var window = new ReplayWindow(new ReplayOptions { MaxBytes = 100 }, _time, firstCovered: 0);
        for (var i = 0; i < 5; i++)
        {
            window.Append(Event(i, size: 30));
        }

        Assert.Equal(3, window.Count);
        Assert.Equal(2, window.FirstCovered);
    }

    [Fact]
    public void AgeLimit_EvictsExpiredEvents()
    {
        var window = new ReplayWindow(new ReplayOptions { MaxAge = TimeSpan.FromMinutes(1) }, _time, firstCovered: 0);
        window.Append(Event(0));
        _time.Advance(TimeSpan.FromSeconds(40));
        window.Append(Event(1));
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(1, window.FirstCovered);
        Assert.Equal([1L], Collect(window, 1, 2));
    }

    [Fact]
    public void NonContiguousOffsets_AreCollectedByRange()
    {
        var window = new ReplayWindow(new ReplayOptions(), _time, firstCovered: 100);
        foreach (var offset in new long[] { 100, 103, 104, 110 })
        {
            window.Append(Event(offset));
        }

        Assert.Equal([103L, 104], Collect(window, 101, 110));
        Assert.False(window.TryCollect(99, 110, _ => true, []));
    }

    [Fact]
    public void TryCollect_AppliesTheFilter()
    {
        var window = new ReplayWindow(new ReplayOptions(), _time, firstCovered: 0);
        window.Append(Event(0, channel: "a"));
        window.Append(Event(1, channel: "b"));
        var into = new List<PreparedEvent>();

        Assert.True(window.TryCollect(0, 2, e => e.Channel == "b", into));
        Assert.Equal([1L], into.Select(e => e.Offset));
    }

    [Fact]
    public void LookBack_IsCoveredOnlyOnceComplete_AndNotBeforeWhatWasEvicted()
    {
        var window = new ReplayWindow(new ReplayOptions { MaxEvents = 4 }, _time, firstCovered: 10);
        for (var offset = 4; offset < 10; offset++)
        {
            window.Append(Event(offset));
        }

        Assert.False(window.TryCollect(7, 10, _ => true, []));
        window.CoverFrom(4);

        Assert.Equal(6, window.FirstCovered);
        Assert.Equal([6L, 7, 8, 9], Collect(window, 6, 10));
    }
}
