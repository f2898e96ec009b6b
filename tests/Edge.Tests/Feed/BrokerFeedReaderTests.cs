using Edge.Connections;
using Edge.Diagnostics;
using Edge.Feed;
using Edge.Hub;
using Edge.Tests.Security;
using Edge.Tests.Hub;
using Xunit;

namespace Edge.Tests.Feed;

public sealed class BrokerFeedReaderTests
{
    private readonly HubTestKit _kit = new();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly BrokerFeedReader _reader;

    public BrokerFeedReaderTests()
    {
        _reader = new BrokerFeedReader(_kit.Broker, _kit.Partitions, _kit.Ingest, () => _kit.Connections.CloseAll(CloseReason.Shutdown), _kit.Metrics, _kit.Time, _logs.CreateLogger("Edge.Hub.EventHub"));
    }

    [Fact]
    public async Task ReadAsync_BrokerDownAtStart_RetriesOpeningAfterTheDelayUntilItOpens()
    {
        using var stop = new CancellationTokenSource();
        _kit.Log.IsAvailable = false;

        // The first attempt fails at once and waits on the clock.
        var reading = _reader.ReadAsync(stop.Token);
        Assert.False(_reader.WhenOpen.IsCompleted);
        Assert.True(_logs.Has(EdgeEventIds.BrokerOpenFailed, "Could not open the InMemory log; retrying in 200 ms"), _logs.All);

        _kit.Log.IsAvailable = true;
        _kit.Time.Advance(TimeSpan.FromMilliseconds(200));
        await _reader.WhenOpen.WaitAsync(HubTestKit.Wait);

        Assert.Equal(_kit.Log.Epoch, _kit.Partitions.Epoch);
        Assert.True(_logs.Has(EdgeEventIds.BrokerOpened, $"Opened the InMemory log: epoch {_kit.Log.Epoch}, 1 partition(s)"), _logs.All);
        await stop.CancelAsync();
        await reading.WaitAsync(HubTestKit.Wait);
    }

    [Fact]
    public async Task ReadAsync_RecordsAppended_ReachConnectionsInLogOrder()
    {
        using var stop = new CancellationTokenSource();
        var reading = await StartReadingAsync(stop.Token);
        await using var stream = _kit.ConnectPumped(["a"]);
        _kit.Shards.Start();

        await _kit.PublishAsync("a", "e0", "e1", "e2");

        var sent = await stream.WaitForAsync($"data: e2\nid: {_kit.Partitions.Epoch}-3\n\n");
        Assert.Equal($"data: e0\nid: {_kit.Partitions.Epoch}-1\n\ndata: e1\nid: {_kit.Partitions.Epoch}-2\n\ndata: e2\nid: {_kit.Partitions.Epoch}-3\n\n", sent);
        await stop.CancelAsync();
        await Task.WhenAll(reading, _kit.Shards.StopAsync()).WaitAsync(HubTestKit.Wait);
    }

    [Fact]
    public async Task ReadAsync_LogLostItsHistory_ReopensForTheNewEpochAndClosesOpenConnections()
    {
        using var stop = new CancellationTokenSource();
        var reading = await StartReadingAsync(stop.Token);
        var oldEpoch = _kit.Partitions.Epoch;
        await using var stream = _kit.ConnectPumped(["a"]);

        _kit.Log.Reset();

        // The closed connection's writer ends.
        await stream.Pump.WaitAsync(HubTestKit.Wait);
        Assert.Equal(CloseReason.Shutdown, stream.Connection.CloseReason);
        Assert.NotEqual(oldEpoch, _kit.Partitions.Epoch);
        Assert.Equal(_kit.Log.Epoch, _kit.Partitions.Epoch);
        Assert.True(_logs.Has(EdgeEventIds.HistoryLost, "The InMemory log lost its history; reopening for a new epoch and closing open streams so they reconnect"), _logs.All);
        await stop.CancelAsync();
        await reading.WaitAsync(HubTestKit.Wait);
    }

    [Fact]
    public async Task ReadAsync_Stopped_EndsWithoutThrowingAndLogsThatTheHubStopped()
    {
        using var stop = new CancellationTokenSource();
        var reading = await StartReadingAsync(stop.Token);

        await stop.CancelAsync();
        await reading.WaitAsync(HubTestKit.Wait);

        Assert.True(_logs.Has(EdgeEventIds.HubStopped, "The event hub stopped reading"), _logs.All);
    }

    /// <summary>Starts the reader and waits until it opened the log.</summary>
    private async Task<Task> StartReadingAsync(CancellationToken cancellationToken)
    {
        var reading = _reader.ReadAsync(cancellationToken);
        await _reader.WhenOpen.WaitAsync(HubTestKit.Wait);
        return reading;
    }
}
