using Edge.Diagnostics;
using Edge.Hub;
using Edge.Sse;
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
        using var stop = new CancellationTokenSource();
        var transport = new RecordingTransport();
        var pump = kit.Pump(kit.Connect(["a"], transport, stream: HubTestKit.Stream(Interval)), stop.Token);

        kit.Time.Advance(Interval);
        sweeps.SendHeartbeats();

        Assert.Equal(":keepalive\n\n", await transport.WaitForAsync(":keepalive\n\n"));
        await stop.CancelAsync();
        await pump.WaitAsync(HubTestKit.Wait);
    }

    [Fact]
    public async Task SendHeartbeats_ConnectionActiveWithinItsInterval_SendsNothing()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        var sweeps = new HeartbeatsAndDrain(kit.Connections, kit.Time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var transport = new RecordingTransport();
        var pump = kit.Pump(kit.Connect(["a"], transport, stream: HubTestKit.Stream(Interval)), stop.Token);

        kit.Time.Advance(Interval - TimeSpan.FromSeconds(1));
        sweeps.SendHeartbeats();
        kit.Shards.DispatchNow(HubTestKit.Event("a", 0, "marker"));

        Assert.Equal("data: marker\n\n", await transport.WaitForAsync("data: marker\n\n"));
        await stop.CancelAsync();
        await pump.WaitAsync(HubTestKit.Wait);
    }

    [Fact]
    public async Task SendHeartbeats_StreamWithoutHeartbeats_SendsNothingHoweverLongTheSilence()
    {
        var kit = new HubTestKit();
        await kit.OpenAsync();
        var sweeps = new HeartbeatsAndDrain(kit.Connections, kit.Time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var transport = new RecordingTransport();
        var pump = kit.Pump(kit.Connect(["a"], transport, stream: HubTestKit.Stream(TimeSpan.Zero)), stop.Token);

        kit.Time.Advance(TimeSpan.FromHours(1));
        sweeps.SendHeartbeats();
        kit.Shards.DispatchNow(HubTestKit.Event("a", 0, "marker"));

        Assert.Equal("data: marker\n\n", await transport.WaitForAsync("data: marker\n\n"));
        await stop.CancelAsync();
        await pump.WaitAsync(HubTestKit.Wait);
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
