using Edge.Connections;
using Edge.Diagnostics;

namespace Edge.Hub;

/// <summary>
/// The sweeps over every open connection: a heartbeat to each one silent for its stream's
/// interval, and, at shutdown, the drain that closes them all with a retry hint and every
/// connection that arrives afterwards.
/// </summary>
internal sealed partial class HeartbeatsAndDrain(ConnectionRegistry connections, TimeProvider timeProvider, ILogger logger)
{
    private volatile bool _draining;

    public bool IsDraining => _draining;

    /// <summary>Sends a heartbeat to every connection that has been silent for its stream's interval.</summary>
    public void SendHeartbeats()
    {
        var now = timeProvider.GetTimestamp();
        var frequency = timeProvider.TimestampFrequency;
        foreach (var (_, connection) in connections)
        {
            var interval = connection.Stream.HeartbeatInterval;
            if (interval > TimeSpan.Zero)
            {
                connection.HeartbeatIfIdle(now, (long)(interval.TotalSeconds * frequency));
            }
        }
    }

    /// <summary>Stops accepting streams and asks every open stream to close with a retry hint.</summary>
    public void BeginDrain()
    {
        _draining = true;
        Log.Draining(logger, connections.Count);
        connections.CloseAll(CloseReason.Shutdown);
    }

    /// <summary>Closes a connection registered while draining (it raced <see cref="BeginDrain"/> or came after it).</summary>
    public void CloseIfDraining(SseConnection connection)
    {
        if (_draining)
        {
            connection.Close(CloseReason.Shutdown);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.Draining, Level = LogLevel.Information, Message = "Draining: closing {Connections} open stream(s) with a retry hint")]
        public static partial void Draining(ILogger logger, int connections);
    }
}
