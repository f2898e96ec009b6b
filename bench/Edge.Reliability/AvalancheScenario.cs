using System.Diagnostics;
using Edge.Bench;

namespace Edge.Reliability;

/// <summary>
/// Scenario 2, deploy avalanche: clients spread over three edge instances behind a relay that
/// routes new connections only to instances whose <c>/_edge/ready</c> says 200 (a load balancer's
/// health check, polled every 250 ms). While publishing goes on, one instance is killed (SIGKILL)
/// and another drained (SIGTERM); their clients move to the survivor. Target: 100 % delivered,
/// no client gives up, every client back within its <c>retry:</c> plus jitter (plus a second for
/// the connect and the replay).
/// </summary>
internal static class AvalancheScenario
{
    public static async Task<ScenarioResult> RunAsync(RunContext run, string broker, int clients, int channels, TimeSpan duration)
    {
        var retry = TimeSpan.FromMilliseconds(1000);
        var result = new ScenarioResult("2 deploy avalanche", broker, $"{clients:N0} clients / {channels} ch on 3 edges; one SIGKILL, one SIGTERM; {duration.TotalSeconds:N0} s");
        var log = $"rel-{run.RunId}-deploy-{broker}";
        run.PrepareLog(broker, log);
        var args = run.BrokerArgs(broker, log).Append($"--Edge:Shutdown:RetryHintMilliseconds={(int)retry.TotalMilliseconds}").ToArray();
        var edges = new EdgeProcess[3];
        for (var i = 0; i < edges.Length; i++)
        {
            edges[i] = EdgeProcess.Start(run, $"deploy-{broker}-{(char)('a' + i)}", run.NextPort(), args);
        }

        try
        {
            foreach (var e in edges)
            {
                if (!await e.WaitReadyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false))
                {
                    result.Failures.Add($"edge {e.Name} did not become ready (log {e.LogPath})");
                    return result;
                }
            }

            var ready = new bool[edges.Length];
            Array.Fill(ready, true);
            using var stopPolling = new CancellationTokenSource();
            var polling = Task.Run(async () =>
            {
                while (!stopPolling.IsCancellationRequested)
                {
                    for (var i = 0; i < edges.Length; i++)
                    {
                        ready[i] = !edges[i].HasExited && await edges[i].IsReadyAsync().ConfigureAwait(false) == true;
                    }

                    await Task.Delay(250).ConfigureAwait(false);
                }
            });

            await using var relay = new TcpRelay(new RelaySettings(0, edges.Select(e => e.EndPoint).ToArray())) { IsUpstreamUsable = i => Volatile.Read(ref ready[i]) };
            var names = Enumerable.Range(0, channels).Select(k => $"{log}-{k}").ToArray();
            var target = new Target { Kind = TargetKind.Edge, Name = "relay", Server = relay.EndPoint, PublishBase = edges[2].BaseUri };
            await using var fleet = new Fleet(new FleetSettings(target, clients, names, retry, TimeSpan.FromSeconds(10)));
            if (!await fleet.StartAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false))
            {
                result.Failures.Add($"only {fleet.OpenCount} of {clients} streams opened");
            }

            await using var sink = new HttpPublishSink(edges.Select(e => (Func<EdgeProcess?>)(() => e.HasExited ? null : e)).ToArray());
            var publisher = new SequencedPublisher(sink, names, 2);
            var publishing = publisher.RunAsync(duration, CancellationToken.None);

            // Connects per second seen by the relay, sampled every 100 ms over a sliding second.
            var peak = 0L;
            var sampling = Task.Run(async () =>
            {
                var window = new Queue<long>();
                while (!publishing.IsCompleted)
                {
                    window.Enqueue(relay.Accepted);
                    if (window.Count > 10)
                    {
                        peak = Math.Max(peak, window.Last() - window.Dequeue());
                    }

                    await Task.Delay(100).ConfigureAwait(false);
                }
            });

            await Task.Delay(duration / 3).ConfigureAwait(false);
            fleet.Downtime.Reset();
            edges[0].Kill();
            await Task.Delay(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            edges[1].Terminate();
            var drainedExit = await edges[1].WaitExitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            await publishing.ConfigureAwait(false);
            await sampling.ConfigureAwait(false);
            await fleet.WaitAllOpenAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
            var check = await DeliveryCheck.AwaitAsync(() => fleet.Subscribers, publisher.Logs, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(8)).ConfigureAwait(false);
            await stopPolling.CancelAsync().ConfigureAwait(false);
            await polling.ConfigureAwait(false);

            result.AddDelivery(check);
            var down = fleet.Downtime;
            var bound = retry.TotalMilliseconds + 1000;
            result.Figures["reconnections"] = down.Count;
            result.Figures["back_p50_ms"] = down.PercentileMs(50);
            result.Figures["back_p99_ms"] = down.PercentileMs(99);
            result.Figures["back_max_ms"] = down.Max / 1000.0;
            result.Figures["back_bound_ms"] = bound;
            result.Figures["replay_p99_ms"] = fleet.Stats.Replay.PercentileMs(99);
            result.Figures["peak_connects_per_s"] = peak;
            result.Figures["gave_up"] = fleet.GaveUp;
            result.Figures["drained_edge_exited"] = drainedExit;
            result.Figures["publish_outcomes"] = publisher.Labels();
            result.Figures["client_errors"] = fleet.Stats.Errors();
            result.Timing = $"back after p50 {ScenarioResult.F(down.PercentileMs(50), 0)} / p99 {ScenarioResult.F(down.PercentileMs(99), 0)} / max {ScenarioResult.F(down.Max / 1000.0, 0)} ms (retry {retry.TotalMilliseconds:N0} ms); replay p99 {ScenarioResult.F(fleet.Stats.Replay.PercentileMs(99))} ms";
            result.Other = $"{down.Count:N0} reconnections, peak {peak:N0} connects/s, {fleet.GaveUp} gave up; publish {ScenarioResult.Errors(publisher.Labels())}";
            result.Require(fleet.GaveUp == 0, $"{fleet.GaveUp} clients gave up after a non-200 answer (as EventSource does)");
            result.Require(down.Count > 0, "no client reconnected");
            result.Require(down.Max / 1000.0 <= bound, $"a client was back only after {down.Max / 1000.0:N0} ms (bound {bound:N0} ms)");
            result.Require(drainedExit, "the drained edge did not exit within 30 s");
            return result;
        }
        finally
        {
            foreach (var e in edges)
            {
                await e.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
