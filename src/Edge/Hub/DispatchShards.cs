using System.Threading.Channels;
using Edge.Diagnostics;
using Edge.Feed;
using Edge.Sse;

namespace Edge.Hub;

/// <summary>
/// The workers that hand events to connections (one per core). A connection belongs to one shard
/// by its id, so its events stay in order; the feed never waits for sockets. A shard reads the
/// channel index after the feed published the event's position, which keeps the registration
/// fence of <see cref="FeedIngest.Ingest"/> intact.
/// </summary>
internal sealed class DispatchShards : ILiveEventSink
{
    private readonly DispatchShard[] _shards;
    private Task[] _running = [];

    public DispatchShards(ChannelIndex index, EdgeMetrics metrics, TimeProvider timeProvider, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _shards = new DispatchShard[count];
        for (var i = 0; i < _shards.Length; i++)
        {
            _shards[i] = new DispatchShard(index, metrics, timeProvider, i, count);
        }
    }

    public int Count => _shards.Length;

    /// <summary>Starts one worker per shard; they run until <see cref="StopAsync"/>.</summary>
    public void Start()
    {
        var running = new Task[_shards.Length];
        for (var i = 0; i < running.Length; i++)
        {
            running[i] = Task.Run(_shards[i].RunAsync, CancellationToken.None);
        }

        _running = running;
    }

    /// <summary>Lets every worker finish what is queued, then waits for them.</summary>
    public Task StopAsync()
    {
        foreach (var shard in _shards)
        {
            shard.Complete();
        }

        return Task.WhenAll(_running);
    }

    /// <summary>Queues an event on every shard (the feed's path); waits only when a shard is full.</summary>
    public void Offer(PreparedEvent prepared)
    {
        foreach (var shard in _shards)
        {
            shard.Offer(prepared);
        }
    }

    /// <summary>Hands an event to its connections on the calling thread (micro-benchmarks; the feed uses the workers).</summary>
    public void DispatchNow(PreparedEvent prepared)
    {
        foreach (var shard in _shards)
        {
            shard.Dispatch(prepared);
        }
    }

    private sealed class DispatchShard
    {
        /// <summary>Events waiting for dispatch; the feed slows down (the broker keeps the rest) only past this.</summary>
        private const int Capacity = 65_536;

        private readonly ChannelIndex _channels;
        private readonly EdgeMetrics _metrics;
        private readonly TimeProvider _timeProvider;
        private readonly int _index;
        private readonly int _count;
        private readonly Channel<PreparedEvent> _queue = Channel.CreateBounded<PreparedEvent>(
            new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

        public DispatchShard(ChannelIndex channels, EdgeMetrics metrics, TimeProvider timeProvider, int index, int count)
        {
            _channels = channels;
            _metrics = metrics;
            _timeProvider = timeProvider;
            _index = index;
            _count = count;
        }

        public void Offer(PreparedEvent item)
        {
            var spin = default(SpinWait);
            while (!_queue.Writer.TryWrite(item))
            {
                if (_queue.Reader.Completion.IsCompleted)
                {
                    return;
                }

                spin.SpinOnce(sleep1Threshold: 10);
            }
        }

        public void Complete() => _queue.Writer.TryComplete();

        public async Task RunAsync()
        {
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    // Behind the feed, one send per event per connection costs more than it
                    // saves: queue instead, and each connection's writer sends its backlog at once.
                    Dispatch(item, sendInline: reader.Count == 0);
                }
            }
        }

        public void Dispatch(PreparedEvent item, bool sendInline = true)
        {
            var sent = 0;
            var handed = false;
            foreach (var connection in _channels.Get(item.Channel))
            {
                if (connection.Id % _count == _index && item.IsFor(connection.UserId, connection.SessionId))
                {
                    handed = true;
                    if (connection.Enqueue(item, sendInline))
                    {
                        sent++;
                    }
                }
            }

            if (sent > 0)
            {
                _metrics.Delivered(sent);
            }

            if (handed)
            {
                _metrics.DeliveryLatency(TimeSpan.FromTicks(_timeProvider.GetUtcNow().UtcTicks - item.Timestamp));
            }
        }
    }
}
