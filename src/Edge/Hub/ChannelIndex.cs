using System.Collections.Concurrent;
using Edge.Connections;

namespace Edge.Hub;

/// <summary>
/// Which connections listen on which channel. Dispatch reads an immutable snapshot array per
/// channel, rebuilt only after the channel's subscribers changed, so the feed never waits on
/// connects and disconnects.
/// </summary>
internal sealed class ChannelIndex
{
    private readonly ConcurrentDictionary<string, Subscribers> _channels = new(StringComparer.Ordinal);

    public int ChannelCount => _channels.Count;

    public void Add(string channel, SseConnection connection)
    {
        while (true)
        {
            var subscribers = _channels.GetOrAdd(channel, static _ => new Subscribers());
            if (subscribers.TryAdd(connection))
            {
                return;
            }
        }
    }

    public void Remove(string channel, SseConnection connection)
    {
        if (_channels.TryGetValue(channel, out var subscribers) && subscribers.Remove(connection))
        {
            _channels.TryRemove(new KeyValuePair<string, Subscribers>(channel, subscribers));
        }
    }

    /// <summary>The connections on <paramref name="channel"/>; an empty array when none.</summary>
    public SseConnection[] Get(string channel) =>
        _channels.TryGetValue(channel, out var subscribers) ? subscribers.Snapshot() : [];

    private sealed class Subscribers
    {
        private readonly HashSet<SseConnection> _set = new(ReferenceEqualityComparer.Instance);
        private volatile SseConnection[]? _snapshot;
        private bool _retired;

        public bool TryAdd(SseConnection connection)
        {
            lock (_set)
            {
                if (_retired)
                {
                    return false;
                }

                _set.Add(connection);
                _snapshot = null;
                return true;
            }
        }

        /// <summary>Removes; true when the channel became empty and was retired.</summary>
        public bool Remove(SseConnection connection)
        {
            lock (_set)
            {
                _set.Remove(connection);
                _snapshot = null;
                if (_set.Count == 0)
                {
                    _retired = true;
                    return true;
                }

                return false;
            }
        }

        public SseConnection[] Snapshot()
        {
            var snapshot = _snapshot;
            if (snapshot is not null)
            {
                return snapshot;
            }

            lock (_set)
            {
                return _snapshot ??= [.. _set];
            }
        }
    }
}
