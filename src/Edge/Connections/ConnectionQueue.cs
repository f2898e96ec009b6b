using System.Threading.Tasks.Sources;
using Edge.Sse;

namespace Edge.Connections;

/// <summary>What <see cref="ConnectionQueue.TryEnqueue"/> did with an item.</summary>
internal enum EnqueueOutcome
{
    /// <summary>Queued for the writer (or dropped, the queue being completed).</summary>
    Queued,

    /// <summary>The caller holds the claim: it writes and sends the item itself, then calls <see cref="ConnectionQueue.ReleaseClaim"/>.</summary>
    Claimed,

    /// <summary>The queue holds its capacity: the connection is a slow consumer.</summary>
    Full,
}

/// <summary>
/// The bounded queue between the hub's feed (many writers, never waiting) and one connection's
/// writer (a single reader that parks when it is empty). A ring grows on demand up to the
/// capacity and is dropped once drained, so an idle connection holds no buffer; one reusable
/// waiter serves the reader. An idle writer can be bypassed: the feed may claim the connection and
/// send an item itself (<see cref="EnqueueOutcome.Claimed"/>); whoever writes holds the claim (the
/// feed, or the reader while it is not parked), so the two never interleave.
/// </summary>
internal sealed class ConnectionQueue : IValueTaskSource<bool>
{
    private const int InitialSize = 4;

    private readonly Lock _gate = new();
    private readonly int _capacity;
    private PreparedEvent[]? _ring;
    private int _head;
    private int _count;
    private bool _completed;
    private bool _parked;
    private bool _claimed;
    private bool _pendingFlush;
    private ManualResetValueTaskSourceCore<bool> _signal = new() { RunContinuationsAsynchronously = true };

    public ConnectionQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>
    /// Called by the feed; never waits. With <paramref name="claimIfIdle"/>, an empty queue whose
    /// reader is parked (and nothing is left to flush) is claimed instead of queued to.
    /// </summary>
    public EnqueueOutcome TryEnqueue(PreparedEvent item, bool claimIfIdle)
    {
        bool wake;
        lock (_gate)
        {
            if (_completed)
            {
                return EnqueueOutcome.Queued;
            }

            if (claimIfIdle && _parked && _count == 0 && !_claimed && !_pendingFlush)
            {
                _claimed = true;
                return EnqueueOutcome.Claimed;
            }

            if (_count == _capacity)
            {
                return EnqueueOutcome.Full;
            }

            var ring = _ring;
            if (ring is null || _count == ring.Length)
            {
                ring = Grow(ring);
            }

            ring[(_head + _count) % ring.Length] = item;
            _count++;
            wake = _parked && !_claimed;
            if (wake)
            {
                _parked = false;
            }
        }

        if (wake)
        {
            _signal.SetResult(true);
        }

        return EnqueueOutcome.Queued;
    }

    /// <summary>
    /// Ends a claim. <paramref name="pendingFlush"/>: the transport did not take everything, so the
    /// reader is woken to flush it; <paramref name="failed"/>: the client is gone, the queue completes.
    /// </summary>
    public void ReleaseClaim(bool pendingFlush, bool failed)
    {
        bool wake, hasItems;
        lock (_gate)
        {
            _claimed = false;
            _pendingFlush |= pendingFlush;
            if (failed)
            {
                _completed = true;
            }

            hasItems = _count > 0 || _pendingFlush;
            wake = _parked && (hasItems || _completed);
            if (wake)
            {
                _parked = false;
            }
        }

        if (wake)
        {
            _signal.SetResult(hasItems && !failed);
        }
    }

    /// <summary>The reader's next item, if any.</summary>
    public bool TryDequeue(out PreparedEvent item)
    {
        lock (_gate)
        {
            if (_count == 0)
            {
                item = null!;
                return false;
            }

            var ring = _ring!;
            item = ring[_head];
            ring[_head] = null!;
            _head = (_head + 1) % ring.Length;
            if (--_count == 0)
            {
                // An idle connection keeps no buffer; a burst's large ring is not kept either.
                _ring = ring.Length > InitialSize ? null : ring;
                _head = 0;
            }

            return true;
        }
    }

    /// <summary>
    /// For the single reader: true when there is something to write or flush; false once the
    /// queue is completed and drained. Parks the reader while the queue is empty.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_gate)
        {
            if (_count > 0 || _pendingFlush)
            {
                _pendingFlush = false;
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _signal.Reset();
            _parked = true;
            return new ValueTask<bool>(this, _signal.Version);
        }
    }

    /// <summary>No more items are accepted; the reader drains what is queued, then ends.</summary>
    public void Complete()
    {
        bool wake, hasItems;
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;

            // While the feed holds the claim, it wakes the reader when it is done.
            wake = _parked && !_claimed;
            hasItems = _count > 0 || _pendingFlush;
            if (wake)
            {
                _parked = false;
            }
        }

        if (wake)
        {
            _signal.SetResult(hasItems);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _signal.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _signal.OnCompleted(continuation, state, token, flags);

    private PreparedEvent[] Grow(PreparedEvent[]? ring)
    {
        var larger = new PreparedEvent[ring is null ? Math.Min(InitialSize, _capacity) : Math.Min(ring.Length * 2, _capacity)];
        for (var i = 0; i < _count; i++)
        {
            larger[i] = ring![(_head + i) % ring.Length];
        }

        _ring = larger;
        _head = 0;
        return larger;
    }
}
