using Edge.Configuration;
using Microsoft.Extensions.Options;

namespace Edge.Hub;

/// <summary>Runs the hub's feed and heartbeats for the host's lifetime, and drains on shutdown.</summary>
internal sealed class EventHubService : BackgroundService
{
    private readonly EventHub _hub;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _heartbeatTick;

    public EventHubService(EventHub hub, IHostApplicationLifetime lifetime, TimeProvider timeProvider, IOptions<EdgeOptions> options)
    {
        _hub = hub;
        _lifetime = lifetime;
        _timeProvider = timeProvider;
        var shortest = options.Value.Streams.Values
            .Select(s => s.Heartbeat.Interval)
            .Where(i => i > TimeSpan.Zero)
            .DefaultIfEmpty(TimeSpan.FromSeconds(15))
            .Min();
        _heartbeatTick = TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 4, TimeSpan.FromMilliseconds(20).Ticks, TimeSpan.FromSeconds(1).Ticks));
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _lifetime.ApplicationStopping.Register(_hub.BeginDrain);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);

        // Let an available broker open before the first request; a broker that is down keeps
        // the edge running (not ready) while the hub retries in the background.
        await Task.WhenAny(_hub.WhenOpen, Task.Delay(TimeSpan.FromSeconds(10), _timeProvider, cancellationToken)).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var feed = Task.Run(() => _hub.RunAsync(stoppingToken), stoppingToken);
        using var timer = new PeriodicTimer(_heartbeatTick, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                _hub.SendHeartbeats();
                _hub.CheckBrokerState();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        try
        {
            await feed.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
