using Edge.Connections;
using Edge.Diagnostics;
using Edge.Hub;
using Edge.Tests.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Edge.Tests.Hub;

public sealed class HeartbeatsAndDrainTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task SendHeartbeats_ConnectionSilentForItsInterval_SendsItTheHeartbeatFrame()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        var sweeps = new HeartbeatsAndDrain(kit.Connections, kit.Time, NullLogger.Instance);
        await using var stream = kit.ConnectPumped(["a"], stream: HubTestKit.Stream(Interval));

        kit.Time.Advance(Interval);
        sweeps.SendHeartbeats();

        Assert.Equal(":keepalive\n\n", await stream.WaitForAsync(":keepalive\n\n"));
    }

    [Theory]
    [InlineData(15, 14)]
    [InlineData(0, 3600)]
    public async Task SendHeartbeats_SilentForLessThanTheIntervalOrWithoutHeartbeats_SendsNothing(int intervalSeconds, int silenceSeconds)
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        var sweeps = new HeartbeatsAndDrain(kit.Connections, kit.Time, NullLogger.Instance);
        await using var stream = kit.ConnectPumped(["a"], stream: HubTestKit.Stream(TimeSpan.FromSeconds(intervalSeconds)));

        kit.Time.Advance(TimeSpan.FromSeconds(silenceSeconds));
        sweeps.SendHeartbeats();
        kit.Shards.DispatchNow(HubTestKit.Event("a", 0, "marker"));

        // Only the marker: no heartbeat was queued before it.
        Assert.Equal("data: marker\n\n", await stream.WaitForAsync("data: marker\n\n"));
    }

    [Fact]
    public async Task BeginDrain_OpenConnections_ClosesEachForShutdownAndLogsHowMany()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        var logs = new CapturingLoggerProvider();
        var sweeps = new HeartbeatsAndDrain(kit.Connections, kit.Time, logs.CreateLogger("Edge.Hub.EventHub"));
        var first = kit.Connect(["a"]);
        var second = kit.Connect(["b"]);

        sweeps.BeginDrain();

        Assert.True(sweeps.IsDraining);
        Assert.Equal(CloseReason.Shutdown, first.CloseReason);
        Assert.Equal(CloseReason.Shutdown, second.CloseReason);
        Assert.True(logs.Has(EdgeEventIds.Draining, "Draining: closing 2 open stream(s) with a retry hint"), logs.All);
    }

    [Fact]
    public async Task CloseIfDraining_BeforeAndAfterTheDrain_ClosesOnlyAfter()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        var sweeps = new HeartbeatsAndDrain(kit.Connections, kit.Time, NullLogger.Instance);
        var before = kit.Connect(["a"]);
        sweeps.CloseIfDraining(before);
        Assert.Equal(CloseReason.None, before.CloseReason);
        Assert.False(sweeps.IsDraining);

        sweeps.BeginDrain();
        var after = kit.Connect(["a"]);
        sweeps.CloseIfDraining(after);

        Assert.Equal(CloseReason.Shutdown, after.CloseReason);
    }
}
