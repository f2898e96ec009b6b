using Edge.Brokers;
using Edge.Configuration;
using Edge.Feed;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Edge.Tests.Feed;

public sealed class PartitionLogTests
{
    private readonly PartitionLog _log = new(new ReplayOptions(), new FakeTimeProvider());

    [Fact]
    public void Reset_Snapshot_TakesItsEpochAndStartsEachPartitionLiveAtItsHead()
    {
        _log.Reset(new LogSnapshot("abc123", [5, 0, 9]));

        Assert.Equal("abc123", _log.Epoch);
        Assert.Equal("abc123"u8.ToArray(), _log.EpochAscii);
        Assert.Equal(3, _log.Count);
        Assert.Equal([5L, 0L, 9L], Enumerable.Range(0, 3).Select(p => Volatile.Read(ref _log.Get(p).NextOffset)));
        Assert.Equal([5L, 0L, 9L], Enumerable.Range(0, 3).Select(p => _log.Get(p).Window.FirstCovered));
        Assert.All(Enumerable.Range(0, 3), p => Assert.Null(_log.Get(p).WarmUpStart));
    }

    [Fact]
    public void Reset_SnapshotWithFeedStarts_WarmsUpFromEachStartBelowTheHead()
    {
        _log.Reset(new LogSnapshot("abc123", [5, 4, 9]) { FeedStartOffsets = [2, 4, 12] });

        Assert.Equal((2L, (long?)2), (_log.Get(0).WarmUpNext, _log.Get(0).WarmUpStart));
        Assert.Equal((4L, (long?)null), (_log.Get(1).WarmUpNext, _log.Get(1).WarmUpStart));

        // A start past the head is read as the head.
        Assert.Equal((9L, (long?)null), (_log.Get(2).WarmUpNext, _log.Get(2).WarmUpStart));
    }

    [Fact]
    public void Reset_SecondSnapshot_ReplacesEveryPartitionAndTheEpoch()
    {
        _log.Reset(new LogSnapshot("first", [5]));
        var old = _log.Get(0);

        _log.Reset(new LogSnapshot("second", [0, 0]));

        Assert.Equal("second", _log.Epoch);
        Assert.NotSame(old, _log.Get(0));
        Assert.Equal(0, Volatile.Read(ref _log.Get(0).NextOffset));
        Assert.Equal(2, _log.Count);
    }

    [Fact]
    public void Get_PartitionAddedAfterOpen_GrowsFromOffsetZeroAndKeepsTheKnownPartitions()
    {
        _log.Reset(new LogSnapshot("abc123", [7]));
        var known = _log.Get(0);

        var added = _log.Get(2);

        Assert.Equal(3, _log.Count);
        Assert.Same(known, _log.Get(0));
        Assert.Same(added, _log.Get(2));
        Assert.Equal(0, Volatile.Read(ref added.NextOffset));
        Assert.Equal(0, Volatile.Read(ref _log.Get(1).NextOffset));
    }

    [Fact]
    public async Task Get_SamePartitionFromManyThreads_GrowsOnceAndReturnsOneState()
    {
        _log.Reset(new LogSnapshot("abc123", [1]));

        var states = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => _log.Get(5)))).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.All(states, s => Assert.Same(states[0], s));
        Assert.Equal(6, _log.Count);
    }
}
