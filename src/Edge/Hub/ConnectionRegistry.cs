using System.Collections.Concurrent;
using Edge.Brokers;
using Edge.Connections;
using Edge.Diagnostics;
using Edge.Feed;
using Edge.Streams;
using Edge.Transports;

namespace Edge.Hub;

/// <summary>
/// Every open connection of this instance, by id, and the channel index dispatch reads. A new
/// connection starts at the live head of each partition its channels live on.
/// </summary>
internal sealed partial class ConnectionRegistry(IEventBroker broker, PartitionLog log, ChannelIndex index, EdgeMetrics metrics, TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<long, SseConnection> _connections = new();
    private long _nextConnectionId;

    public int Count => _connections.Count;

    public int ChannelCount => index.ChannelCount;

    /// <summary>
    /// Registers a new connection on its channels and sets its starting position to the live
    /// head of each partition it reads.
    /// </summary>
    /// <param name="transport">How the connection's bytes reach its client.</param>
    public SseConnection Connect(StreamDefinition stream, string? userId, string? sessionId, IReadOnlyCollection<string> channels, IConnectionTransport transport)
    {
        var connection = new SseConnection(
            Interlocked.Increment(ref _nextConnectionId),
            stream,
            userId,
            sessionId,
            channels,
            PartitionsOf(channels),
            log.EpochAscii,
            transport,
            timeProvider);

        _connections[connection.Id] = connection;
        foreach (var channel in connection.AllChannels)
        {
            index.Add(channel, connection);
        }

        // Pairs with the fence of FeedIngest.Ingest: the index entry is visible before the
        // positions are read, so no event falls between the two.
        Interlocked.MemoryBarrier();
        for (var i = 0; i < connection.Partitions.Length; i++)
        {
            connection.Offsets[i] = Volatile.Read(ref log.Get(connection.Partitions[i]).NextOffset);
        }

        metrics.ConnectionOpened(stream.Name);
        return connection;
    }

    /// <summary>Frees everything the connection held: index entries, registry entry.</summary>
    public void Disconnect(SseConnection connection)
    {
        foreach (var channel in connection.AllChannels)
        {
            index.Remove(channel, connection);
        }

        if (_connections.TryRemove(connection.Id, out _))
        {
            metrics.ConnectionClosed(connection.Stream.Name, connection.CloseReason, timeProvider.GetElapsedTime(connection.OpenedTimestamp));
        }
    }

    /// <summary>Closes every stream of the ending's user or session (an <c>end-streams</c> control record); each then disconnects as usual.</summary>
    public void End(StreamEnding ending, ILogger logger)
    {
        var closed = 0;
        foreach (var (_, connection) in _connections)
        {
            if ((ending.UserId is not null && string.Equals(connection.UserId, ending.UserId, StringComparison.Ordinal))
                || (ending.SessionId is not null && string.Equals(connection.SessionId, ending.SessionId, StringComparison.Ordinal)))
            {
                connection.Close(CloseReason.Ended);
                closed++;
            }
        }

        RegistryLog.StreamsEnded(logger, closed, ending.UserId, ending.SessionId, ending.Partition, ending.Offset);
    }

    /// <summary>Closes every open connection (drain, lost history); each then disconnects as usual.</summary>
    public void CloseAll(CloseReason reason)
    {
        foreach (var (_, connection) in _connections)
        {
            connection.Close(reason);
        }
    }

    /// <summary>The open connections, live (not a snapshot): for sweeps such as heartbeats.</summary>
    public IEnumerator<KeyValuePair<long, SseConnection>> GetEnumerator() => _connections.GetEnumerator();

    /// <summary>The partitions the channels live on, ascending and each once; partition 0 when there is no channel.</summary>
    private int[] PartitionsOf(IReadOnlyCollection<string> channels)
    {
        var partitions = new int[Math.Max(channels.Count, 1)];
        var count = 0;
        foreach (var channel in channels)
        {
            var partition = broker.GetPartition(channel);
            var at = Array.BinarySearch(partitions, 0, count, partition);
            if (at < 0)
            {
                at = ~at;
                Array.Copy(partitions, at, partitions, at + 1, count - at);
                partitions[at] = partition;
                count++;
            }
        }

        return count == 0 || count == partitions.Length ? partitions : partitions[..count];
    }

    private static partial class RegistryLog
    {
        [LoggerMessage(EventId = EdgeEventIds.StreamsEnded, Level = LogLevel.Information, Message = "Ended {Count} stream(s) of user {UserId} / session {SessionId} on this instance (end-streams control record at partition {Partition} offset {Offset})")]
        public static partial void StreamsEnded(ILogger logger, int count, string? userId, string? sessionId, int partition, long offset);
    }
}
