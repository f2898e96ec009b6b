using Edge.Configuration;
using Edge.Sse;

namespace Edge.Feed;

/// <summary>
/// The recent events of one partition, bounded by count, bytes and age, from which resuming
/// clients are served without asking the broker. One writer (the hub's feed), many readers.
/// </summary>
internal sealed class ReplayWindow(ReplayOptions options, TimeProvider timeProvider, long firstCovered)
{
    private readonly object _gate = new();
    private readonly int _maxEvents = options.MaxEvents;
    private readonly long _maxBytes = options.MaxBytes;
    private readonly long _maxAgeTicks = options.MaxAge.Ticks;
    private PreparedEvent[] _ring = new PreparedEvent[Math.Min(options.MaxEvents, 64)];
    private int _head;
    private int _count;
    private long _bytes;
    private long _firstCovered = firstCovered;
    private long _evictedThrough = long.MinValue;

    /// <param name="firstCovered">The offset from which every later event will be in the window.</param>

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>The lowest offset a cursor may name and still be served entirely from memory.</summary>
    public long FirstCovered
    {
        get
        {
            lock (_gate)
            {
                EvictExpired();
                return _firstCovered;
            }
        }
    }

    /// <summary>
    /// Declares that every event from <paramref name="offset"/> on is now in the window (called
    /// once a look-back has been read up to the live head).
    /// </summary>
    public void CoverFrom(long offset)
    {
        lock (_gate)
        {
            _firstCovered = Math.Min(_firstCovered, Math.Max(offset, _evictedThrough));
        }
    }

    public void Append(PreparedEvent item)
    {
        lock (_gate)
        {
            EvictExpired();
            while (_count > 0 && (_count >= _maxEvents || _bytes + item.Frame.Length > _maxBytes))
            {
                EvictOldest();
            }

            if (_count == _ring.Length)
            {
                Grow();
            }

            _ring[(_head + _count) % _ring.Length] = item;
            _count++;
            _bytes += item.Frame.Length;
        }
    }

    /// <summary>
    /// Adds the events with <paramref name="fromOffset"/> &lt;= offset &lt; <paramref name="toOffset"/>
    /// that <paramref name="wants"/> accepts; false when the window no longer holds all of them.
    /// </summary>
    public bool TryCollect(long fromOffset, long toOffset, Func<PreparedEvent, bool> wants, List<PreparedEvent> into)
    {
        lock (_gate)
        {
            EvictExpired();
            if (fromOffset < _firstCovered)
            {
                return false;
            }

            for (var i = FirstIndexAtOrAfter(fromOffset); i < _count; i++)
            {
                var item = _ring[(_head + i) % _ring.Length];
                if (item.Offset >= toOffset)
                {
                    break;
                }

                if (wants(item))
                {
                    into.Add(item);
                }
            }

            return true;
        }
    }

    private int FirstIndexAtOrAfter(long offset)
    {
        int low = 0, high = _count;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (_ring[(_head + mid) % _ring.Length].Offset < offset)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    private void EvictExpired()
    {
        if (_maxAgeTicks <= 0)
        {
            return;
        }

        var oldest = timeProvider.GetUtcNow().UtcTicks - _maxAgeTicks;
        while (_count > 0 && _ring[_head].Timestamp < oldest)
        {
            EvictOldest();
        }
    }

    private void EvictOldest()
    {
        var item = _ring[_head];
        _ring[_head] = null!;
        _head = (_head + 1) % _ring.Length;
        _count--;
        _bytes -= item.Frame.Length;
        _evictedThrough = item.Offset + 1;
        _firstCovered = Math.Max(_firstCovered, _evictedThrough);
    }

    private void Grow()
    {
        var larger = new PreparedEvent[Math.Min(Math.Max(_ring.Length * 2, 64), Math.Max(_maxEvents, 1))];
        for (var i = 0; i < _count; i++)
        {
            larger[i] = _ring[(_head + i) % _ring.Length];
        }

        _ring = larger;
        _head = 0;
    }
}
