using System.Diagnostics;
using Edge.Bench;

namespace Edge.Reliability;

/// <summary>
/// Scenario 1, drops: clients on two edge instances through a relay that resets each client's
/// connection after a random 10-20 s and refuses that client for ~2 s; the clients resume with
/// Last-Event-ID on whichever instance the relay picks, while publishing goes on through both
/// edges' HTTP API. Target: 100 % delivered, 0 duplicated, 0 out of order, replay p99 &lt; 1 s.
/// </summary>
internal static class DropsScenario
{
    public static async Task<ScenarioResult> RunAsync(RunContext run, string broker, int clients, int channels, double ratePerChannel, TimeSpan duration)
    {
        var result = new ScenarioResult("1 drops", broker, $"{clients:N0} clients / {channels} ch, 2 edges, {ratePerChannel * channels:N0} ev/s, {duration.TotalSeconds:N0} s, cuts every 10-20 s + 2 s offline");
        var log = $"rel-{run.RunId}-drops-{broker}";
        run.PrepareLog(broker, log);
        var args = run.BrokerArgs(broker, log);
        await using var a = EdgeProcess.Start(run, $"drops-{broker}-a", run.NextPort(), args);
        await using var b = EdgeProcess.Start(run, $"drops-{broker}-b", run.NextPort(), args);
        if (!await a.WaitReadyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false) || !await b.WaitReadyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false))
        {
            result.Failures.Add($"the edges did not become ready (logs {a.LogPath}, {b.LogPath})");
            return result;
        }

        await using var relay = new TcpRelay(new RelaySettings(0, [a.EndPoint, b.EndPoint], (TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20)), TimeSpan.FromSeconds(2)));
        var names = Enumerable.Range(0, channels).Select(k => $"{log}-{k}").ToArray();
        var target = new Target { Kind = TargetKind.Edge, Name = "relay", Server = relay.EndPoint, PublishBase = a.BaseUri };
        await using var fleet = new Fleet(new FleetSettings(target, clients, names, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10)));
        if (!await fleet.StartAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false))
        {
            result.Failures.Add($"only {fleet.OpenCount} of {clients} streams opened");
        }

        await using var sink = new HttpPublishSink([() => a, () => b]);
        var publisher = new SequencedPublisher(sink, names, ratePerChannel);
        var cpu0 = ProcStats.CpuSeconds([a.Pid, b.Pid]);
        await publisher.RunAsync(duration, CancellationToken.None).ConfigureAwait(false);
        var cpu1 = ProcStats.CpuSeconds([a.Pid, b.Pid]);
        // The clients that are offline now come back within ~2 s and replay what they missed.
        var check = await DeliveryCheck.AwaitAsync(() => fleet.Subscribers, publisher.Logs, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(8)).ConfigureAwait(false);

        result.AddDelivery(check);
        var replay = fleet.Stats.Replay;
        result.Figures["replay_count"] = replay.Count;
        result.Figures["replay_p50_ms"] = replay.PercentileMs(50);
        result.Figures["replay_p95_ms"] = replay.PercentileMs(95);
        result.Figures["replay_p99_ms"] = replay.PercentileMs(99);
        result.Figures["replay_max_ms"] = replay.Max / 1000.0;
        result.Figures["latency_p99_ms"] = fleet.Stats.Latency.PercentileMs(99);
        result.Figures["relay_faults"] = relay.Faults;
        result.Figures["relay_refused"] = relay.Refused;
        result.Figures["reconnects"] = fleet.Reconnects;
        result.Figures["gave_up"] = fleet.GaveUp;
        result.Figures["publish_outcomes"] = publisher.Labels();
        result.Figures["client_errors"] = fleet.Stats.Errors();
        result.Figures["edge_cpu_s"] = Math.Round(cpu1 - cpu0, 1);
        result.Timing = $"replay p50 {ScenarioResult.F(replay.PercentileMs(50))} / p95 {ScenarioResult.F(replay.PercentileMs(95))} / p99 {ScenarioResult.F(replay.PercentileMs(99))} ms ({replay.Count:N0} resumes)";
        result.Other = $"{relay.Faults:N0} cuts, {relay.Refused:N0} refused connects; publish {ScenarioResult.Errors(publisher.Labels())}";
        result.Require(replay.Count > 0, "no resumed connection received an event");
        result.Require(replay.PercentileMs(99) < 1000, $"replay p99 {replay.PercentileMs(99):N0} ms ≥ 1 s");
        result.Require(fleet.GaveUp == 0, $"{fleet.GaveUp} clients gave up after a non-200 answer");
        result.Require(relay.Faults > 0, "the relay cut no connection");
        return result;
    }
}
