using Edge.Connections;
using Edge.Sse;
using Xunit;

namespace Edge.Tests.Connections;

/// <summary>
/// The queue between the hub's feed and one connection's writer: order, the capacity bound, the
/// inline-send claim, completion, and the one reusable waiter its reader parks on.
/// </summary>
public sealed class ConnectionQueueTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_WithACapacityBelowOne_Throws(int capacity)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionQueue(capacity));
    }

    [Fact]
    public void TryDequeue_OnAnEmptyQueue_ReturnsFalse()
    {
        var queue = new ConnectionQueue(4);

        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void Items_AreDequeuedInTheOrderTheyWereQueued_AcrossGrowthAndWrapAround()
    {
        var queue = new ConnectionQueue(64);
        var next = 0;
        var expected = 0;

        // Fill part way, drain some (the head moves), then fill past the initial ring so it grows while wrapped.
        for (var round = 0; round < 20; round++)
        {
            for (var i = 0; i < 3 + round; i++)
            {
                Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(next++), claimIfIdle: false));
            }

            for (var i = 0; i < 2 + round; i++)
            {
                Assert.True(queue.TryDequeue(out var item));
                Assert.Equal(expected++, item.Offset);
            }
        }

        while (queue.TryDequeue(out var item))
        {
            Assert.Equal(expected++, item.Offset);
        }

        Assert.Equal(next, expected);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(100)]
    public void AQueueHoldingItsCapacity_ReportsFull_AndKeepsWhatItHeld(int capacity)
    {
        var queue = new ConnectionQueue(capacity);
        for (var i = 0; i < capacity; i++)
        {
            Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(i), claimIfIdle: false));
        }

        Assert.Equal(EnqueueOutcome.Full, queue.TryEnqueue(Item(capacity), claimIfIdle: false));
        Assert.Equal(EnqueueOutcome.Full, queue.TryEnqueue(Item(capacity + 1), claimIfIdle: true));

        for (var i = 0; i < capacity; i++)
        {
            Assert.True(queue.TryDequeue(out var item));
            Assert.Equal(i, item.Offset);
        }

        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void OneDequeue_FromAFullQueue_MakesRoomForOneMore()
    {
        var queue = new ConnectionQueue(3);
        for (var i = 0; i < 3; i++)
        {
            queue.TryEnqueue(Item(i), claimIfIdle: false);
        }

        Assert.True(queue.TryDequeue(out _));

        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(3), claimIfIdle: false));
        Assert.Equal(EnqueueOutcome.Full, queue.TryEnqueue(Item(4), claimIfIdle: false));
        Assert.Equal([1L, 2L, 3L], DrainOffsets(queue));
    }

    [Fact]
    public void TheCapacity_StillHolds_AfterTheQueueWasDrainedAndItsRingDropped()
    {
        var queue = new ConnectionQueue(10);
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(i), claimIfIdle: false));
            }

            Assert.Equal(EnqueueOutcome.Full, queue.TryEnqueue(Item(10), claimIfIdle: false));
            Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), DrainOffsets(queue));
        }
    }

    [Fact]
    public async Task WaitToReadAsync_WithItemsQueued_CompletesAtOnceWithTrue()
    {
        var queue = new ConnectionQueue(4);
        queue.TryEnqueue(Item(0), claimIfIdle: false);

        var wait = queue.WaitToReadAsync();

        Assert.True(wait.IsCompletedSuccessfully);
        Assert.True(await wait);
    }

    [Fact]
    public async Task AParkedReader_IsWokenWithTrue_ByTheNextItem()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();
        Assert.False(wait.IsCompleted);

        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(7), claimIfIdle: false));

        Assert.True(await wait.AsTask().WaitAsync(Wait));
        Assert.True(queue.TryDequeue(out var item));
        Assert.Equal(7, item.Offset);
    }

    [Fact]
    public void ClaimIfIdle_WithTheReaderParkedOnAnEmptyQueue_GivesTheCallerTheClaim_AndLeavesTheReaderParked()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();

        Assert.Equal(EnqueueOutcome.Claimed, queue.TryEnqueue(Item(0), claimIfIdle: true));

        Assert.False(wait.IsCompleted);
        Assert.False(queue.TryDequeue(out _), "a claimed item is the caller's to send, not queued");
    }

    [Fact]
    public async Task ClaimIfIdle_WhileTheReaderIsNotParked_Queues()
    {
        var queue = new ConnectionQueue(4);

        // The reader has not parked yet (it is writing): the feed must not write alongside it.
        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(0), claimIfIdle: true));

        Assert.True(await queue.WaitToReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal([0L], DrainOffsets(queue));
    }

    [Fact]
    public async Task WithoutClaimIfIdle_AParkedIdleReader_IsWokenRatherThanBypassed()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();

        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(0), claimIfIdle: false));

        Assert.True(await wait.AsTask().WaitAsync(Wait));
        Assert.Equal([0L], DrainOffsets(queue));
    }

    [Fact]
    public async Task WhileTheClaimIsHeld_ItemsAreQueued_WithoutAWake_AndReleasingItWakesTheReader()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();
        Assert.Equal(EnqueueOutcome.Claimed, queue.TryEnqueue(Item(0), claimIfIdle: true));

        // Nobody else may claim, and the reader may not start writing while the feed does.
        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(1), claimIfIdle: true));
        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(2), claimIfIdle: false));
        Assert.False(wait.IsCompleted);

        queue.ReleaseClaim(pendingFlush: false, failed: false);

        Assert.True(await wait.AsTask().WaitAsync(Wait));
        Assert.Equal([1L, 2L], DrainOffsets(queue));
    }

    [Fact]
    public void ReleasingTheClaim_WithNothingLeft_LeavesTheReaderParked_AndTheNextItemCanBeClaimedAgain()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();
        Assert.Equal(EnqueueOutcome.Claimed, queue.TryEnqueue(Item(0), claimIfIdle: true));

        queue.ReleaseClaim(pendingFlush: false, failed: false);

        Assert.False(wait.IsCompleted);
        Assert.Equal(EnqueueOutcome.Claimed, queue.TryEnqueue(Item(1), claimIfIdle: true));
        queue.ReleaseClaim(pendingFlush: false, failed: false);
        Assert.False(wait.IsCompleted);
    }

    [Fact]
    public async Task ReleasingTheClaim_WithAPendingFlush_WakesTheReader_AndNoClaimIsGivenUntilItFlushed()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();
        Assert.Equal(EnqueueOutcome.Claimed, queue.TryEnqueue(Item(0), claimIfIdle: true));

        queue.ReleaseClaim(pendingFlush: true, failed: false);

        Assert.True(await wait.AsTask().WaitAsync(Wait));

        // The transport still holds bytes: a new item must go behind them, through the reader.
        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(1), claimIfIdle: true));
        Assert.True(await queue.WaitToReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal([1L], DrainOffsets(queue));
    }

    [Fact]
    public async Task APendingFlush_IsReportedToTheReaderOnce()
    {
        var queue = new ConnectionQueue(4);
        _ = queue.WaitToReadAsync();
        Assert.Equal(EnqueueOutcome.Claimed, queue.TryEnqueue(Item(0), claimIfIdle: true));
        queue.ReleaseClaim(pendingFlush: true, failed: false);

        // The reader woken for the flush asks again after flushing: now there is nothing to do, so it parks.
        var afterFlush = queue.WaitToReadAsync();
        var parked = queue.WaitToReadAsync();

        Assert.True(afterFlush.IsCompletedSuccessfully);
        Assert.True(await afterFlush);
        Assert.False(parked.IsCompleted);
    }

    [Fact]
    public async Task ReleasingAFailedClaim_CompletesTheQueue_AndWakesTheReaderWithFalse()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();
        Assert.Equal(EnqueueOutcome.Claimed, queue.TryEnqueue(Item(0), claimIfIdle: true));
        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(1), claimIfIdle: false));

        queue.ReleaseClaim(pendingFlush: false, failed: true);

        // The client is gone: what is queued is not worth writing.
        Assert.False(await wait.AsTask().WaitAsync(Wait));
        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(2), claimIfIdle: true));
        Assert.Equal([1L], DrainOffsets(queue));
        Assert.False(await queue.WaitToReadAsync().AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task Complete_WakesAParkedReaderWithFalse()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();

        queue.Complete();

        Assert.False(await wait.AsTask().WaitAsync(Wait));
        Assert.False(await queue.WaitToReadAsync().AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task Complete_FromAnotherThread_WakesAParkedReader()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync().AsTask();

        await Task.Run(queue.Complete).WaitAsync(Wait);

        Assert.False(await wait.WaitAsync(Wait));
    }

    [Fact]
    public async Task ACancellationWiredToComplete_AsThePumpWiresIt_EndsAParkedReader()
    {
        var queue = new ConnectionQueue(4);
        using var cts = new CancellationTokenSource();
        using var registration = cts.Token.UnsafeRegister(static state => ((ConnectionQueue)state!).Complete(), queue);
        var wait = queue.WaitToReadAsync();

        await cts.CancelAsync();

        Assert.False(await wait.AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task AfterComplete_TheReaderDrainsWhatWasQueued_ThenEnds()
    {
        var queue = new ConnectionQueue(4);
        queue.TryEnqueue(Item(0), claimIfIdle: false);
        queue.TryEnqueue(Item(1), claimIfIdle: false);

        queue.Complete();

        Assert.True(await queue.WaitToReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal([0L, 1L], DrainOffsets(queue));
        Assert.False(await queue.WaitToReadAsync().AsTask().WaitAsync(Wait));
    }

    [Fact]
    public void AfterComplete_ItemsAreDropped_AndReportedQueued_NeverFullNorClaimed()
    {
        var queue = new ConnectionQueue(1);
        _ = queue.WaitToReadAsync();
        queue.Complete();

        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(0), claimIfIdle: true));
        Assert.Equal(EnqueueOutcome.Queued, queue.TryEnqueue(Item(1), claimIfIdle: false));
        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public async Task Complete_IsIdempotent()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();

        queue.Complete();
        queue.Complete();

        Assert.False(await wait.AsTask().WaitAsync(Wait));
        Assert.False(await queue.WaitToReadAsync().AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task Complete_WhileTheClaimIsHeld_LeavesTheWakeToTheRelease()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();
        Assert.Equal(EnqueueOutcome.Claimed, queue.TryEnqueue(Item(0), claimIfIdle: true));

        queue.Complete();

        // The feed is still writing: the reader must not wake and end the response under it.
        Assert.False(wait.IsCompleted);
        queue.ReleaseClaim(pendingFlush: false, failed: false);
        Assert.False(await wait.AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task Complete_WhileTheClaimIsHeld_ThenAPendingFlush_WakesTheReaderToFlushIt()
    {
        var queue = new ConnectionQueue(4);
        var wait = queue.WaitToReadAsync();
        Assert.Equal(EnqueueOutcome.Claimed, queue.TryEnqueue(Item(0), claimIfIdle: true));
        queue.Complete();

        queue.ReleaseClaim(pendingFlush: true, failed: false);

        Assert.True(await wait.AsTask().WaitAsync(Wait));
        Assert.True(await queue.WaitToReadAsync().AsTask().WaitAsync(Wait));
        Assert.False(await queue.WaitToReadAsync().AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task TheWaiter_IsReusedAcrossManyParks()
    {
        var queue = new ConnectionQueue(4);
        for (var i = 0; i < 10_000; i++)
        {
            var wait = queue.WaitToReadAsync();
            Assert.False(wait.IsCompleted, $"park {i} completed before anything was queued");

            queue.TryEnqueue(Item(i), claimIfIdle: false);

            Assert.True(await wait.AsTask().WaitAsync(Wait));
            Assert.True(queue.TryDequeue(out var item));
            Assert.Equal(i, item.Offset);
        }
    }

    [Fact]
    public async Task AConcurrentProducer_AndTheReader_LoseNothing_AndKeepTheOrder()
    {
        const int Count = 10_000;
        var queue = new ConnectionQueue(16);
        var producer = Task.Run(() =>
        {
            for (var i = 0; i < Count; i++)
            {
                var spins = 0;
                while (queue.TryEnqueue(Item(i), claimIfIdle: false) == EnqueueOutcome.Full)
                {
                    Assert.True(++spins < 10_000_000, "the reader stopped draining");
                    Thread.Yield();
                }
            }

            queue.Complete();
        });

        var expected = 0L;
        while (await queue.WaitToReadAsync().AsTask().WaitAsync(Wait))
        {
            while (queue.TryDequeue(out var item))
            {
                Assert.Equal(expected++, item.Offset);
            }
        }

        await producer.WaitAsync(Wait);
        Assert.Equal(Count, expected);
    }

    [Fact]
    public async Task AConcurrentFeedClaimingWhenIdle_AndTheReader_NeverWriteAtOnce_AndKeepTheOrder()
    {
        const int Count = 10_000;
        var queue = new ConnectionQueue(16);
        var written = new List<long>(Count);
        var writers = 0;
        var claims = 0;

        void Write(PreparedEvent item)
        {
            Assert.Equal(1, Interlocked.Increment(ref writers));
            written.Add(item.Offset);
            Interlocked.Decrement(ref writers);
        }

        // The reader parks before the feed starts, so the first item at least is sent by the feed itself.
        var waiting = queue.WaitToReadAsync();
        var feed = Task.Run(() =>
        {
            for (var i = 0; i < Count; i++)
            {
                var spins = 0;
                EnqueueOutcome outcome;
                while ((outcome = queue.TryEnqueue(Item(i), claimIfIdle: true)) == EnqueueOutcome.Full)
                {
                    Assert.True(++spins < 10_000_000, "the reader stopped draining");
                    Thread.Yield();
                }

                if (outcome == EnqueueOutcome.Claimed)
                {
                    claims++;
                    Write(Item(i));
                    queue.ReleaseClaim(pendingFlush: i % 7 == 0, failed: false);
                }
            }

            queue.Complete();
        });

        while (await waiting.AsTask().WaitAsync(Wait))
        {
            while (queue.TryDequeue(out var item))
            {
                Write(item);
            }

            waiting = queue.WaitToReadAsync();
        }

        await feed.WaitAsync(Wait);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (long)i), written);
        Assert.True(claims > 0, "the feed never found the reader idle");
    }

    private static PreparedEvent Item(long offset) => new(0, offset, "c", null, null, null, 0, [], 0);

    private static List<long> DrainOffsets(ConnectionQueue queue)
    {
        var offsets = new List<long>();
        while (queue.TryDequeue(out var item))
        {
            offsets.Add(item.Offset);
        }

        return offsets;
    }
}
