using System.Diagnostics;
using System.Text.Json;
using Edge.Bench;

namespace Edge.Reliability;

/// <summary>
/// Scenario 5, soak: churn on one edge for a long time: clients through a relay that resets each
/// connection after 3-8 s (connects, resumes) and steady publishing. RSS, GC heap,
/// threads and open files are sampled every few seconds. Target: open streams and the limiter's
/// counters exactly 0 at the end; no growth in threads or file descriptors; RSS and GC heap slope
/// reported per hour.
/// </summary>
internal static class SoakScenario
{
    public static async Task<ScenarioResult> RunAsync(RunContext run, string broker, int clients, TimeSpan duration)
    {
        var result = new ScenarioResult("5 soak", broker, $"{clients:N0} churning clients (cut every 3-8 s), 1 edge, {duration.TotalMinutes:N1} min");
        var log = $"rel-{run.RunId}-soak-{broker}";
        run.PrepareLog(broker, log);
        await using var edge = EdgeProcess.Start(run, $"soak-{broker}", run.NextPort(), run.BrokerArgs(broker, log));
        if (!await edge.WaitReadyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false))
        {
            result.Failures.Add($"the edge did not become ready (log {edge.LogPath})");
            return result;
        }

        var names = Enumerable.Range(0, Math.Max(1, clients / 20)).Select(k => $"{log}-{k}").ToArray();
        var samples = new List<(double T, double Rss, double Heap, int Threads, int Fds)>();
        var sw = Stopwatch.StartNew();
        async Task Sample()
        {
            var m = await edge.MetricsAsync().ConfigureAwait(false);
            var heap = m is { } j ? j.GetProperty("memory").GetProperty("gcHeapBytes").GetInt64() / 1048576.0 : double.NaN;
            samples.Add((sw.Elapsed.TotalHours, ProcStats.RssBytes([edge.Pid]) / 1048576.0, heap, ProcStats.ThreadCount(edge.Pid), ProcStats.OpenFiles(edge.Pid)));
        }

        await Sample().ConfigureAwait(false);
        var baseline = samples[0];
        DeliveryCheck check;
        {
            await using var relay = new TcpRelay(new RelaySettings(0, [edge.EndPoint], (TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(8)), TimeSpan.FromMilliseconds(500)));
            var target = new Target { Kind = TargetKind.Edge, Name = "relay", Server = relay.EndPoint, PublishBase = edge.BaseUri };
            await using var fleet = new Fleet(new FleetSettings(target, clients, names, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(10)));
            if (!await fleet.StartAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false))
            {
                result.Failures.Add($"only {fleet.OpenCount} of {clients} streams opened");
            }

            await using var sink = new HttpPublishSink([() => edge]);
            var publisher = new SequencedPublisher(sink, names, 5);
            var publishing = publisher.RunAsync(duration, CancellationToken.None);
            var interval = TimeSpan.FromSeconds(Math.Clamp(duration.TotalSeconds / 30, 2, 60));
            while (!publishing.IsCompleted)
            {
                await Task.WhenAny(publishing, Task.Delay(interval)).ConfigureAwait(false);
                await Sample().ConfigureAwait(false);
            }

            check = await DeliveryCheck.AwaitAsync(() => fleet.Subscribers, publisher.Logs, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(8)).ConfigureAwait(false);
            result.Figures["reconnects"] = fleet.Reconnects;
            result.Figures["relay_cuts"] = relay.Faults;
            result.Figures["replay_p99_ms"] = fleet.Stats.Replay.PercentileMs(99);
        }

        // Every client is gone now: the edge must have given back every stream and counter.
        JsonElement? end = null;
        for (var i = 0; i < 50; i++)
        {
            end = await edge.MetricsAsync().ConfigureAwait(false);
            if (end is { } e && e.GetProperty("counters").GetProperty("connections").GetInt64() == 0 && e.GetProperty("limits").GetProperty("streams").GetInt32() == 0)
            {
                break;
            }

            await Task.Delay(200).ConfigureAwait(false);
        }

        await Task.Delay(2000).ConfigureAwait(false);
        await Sample().ConfigureAwait(false);
        var last = samples[^1];
        result.AddDelivery(check);
        var connections = end?.GetProperty("counters").GetProperty("connections").GetInt64() ?? -1;
        var limits = end?.GetProperty("limits");
        var limitStreams = limits?.GetProperty("streams").GetInt32() ?? -1;
        var limitIps = limits?.GetProperty("ips").GetInt32() ?? -1;
        var limitUsers = limits?.GetProperty("users").GetInt32() ?? -1;
        var during = samples.Skip(1).Take(samples.Count - 2).ToArray();
        var rssSlope = Slope(during.Select(s => (s.T, s.Rss)).ToArray());
        var heapSlope = Slope(during.Select(s => (s.T, s.Heap)).ToArray());
        result.Figures["connections_at_end"] = connections;
        result.Figures["limiter_streams_at_end"] = limitStreams;
        result.Figures["limiter_ips_at_end"] = limitIps;
        result.Figures["limiter_users_at_end"] = limitUsers;
        result.Figures["rss_mb"] = new[] { Math.Round(baseline.Rss, 1), Math.Round(samples.Max(s => s.Rss), 1), Math.Round(last.Rss, 1) };
        result.Figures["gc_heap_mb"] = new[] { Math.Round(baseline.Heap, 1), Math.Round(samples.Max(s => s.Heap), 1), Math.Round(last.Heap, 1) };
        result.Figures["rss_slope_mb_per_h"] = Math.Round(rssSlope, 1);
        result.Figures["gc_heap_slope_mb_per_h"] = Math.Round(heapSlope, 1);
        result.Figures["threads"] = new[] { baseline.Threads, samples.Max(s => s.Threads), last.Threads };
        result.Figures["fds"] = new[] { baseline.Fds, samples.Max(s => s.Fds), last.Fds };
        result.Figures["samples"] = samples.Count;
        result.Timing = $"replay p99 {ScenarioResult.F((double)result.Figures["replay_p99_ms"]!)} ms";
        result.Other = $"end: {connections} streams, limiter {limitStreams}/{limitIps}/{limitUsers} (streams/ips/users); RSS {baseline.Rss:N0}→{last.Rss:N0} MB ({rssSlope:N0} MB/h during), GC heap {baseline.Heap:N0}→{last.Heap:N0} MB ({heapSlope:N0} MB/h), threads {baseline.Threads}→{last.Threads}, fds {baseline.Fds}→{last.Fds}";
        result.Require(connections == 0, $"{connections} streams open at the end");
        result.Require(limitStreams == 0 && limitIps == 0 && limitUsers == 0, "the connection limiter's counters are not 0 at the end");
        // Growth: after the clients left, descriptors are back to the start (+ a few pooled broker/HTTP sockets).
        result.Require(last.Fds <= baseline.Fds + 16, $"open files grew {baseline.Fds} → {last.Fds}");
        result.Require(last.Threads <= baseline.Threads + 16, $"threads grew {baseline.Threads} → {last.Threads}");
        return result;
    }

    /// <summary>Least-squares slope of y over x.</summary>
    private static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        var p = points.Where(q => double.IsFinite(q.Y)).ToArray();
        if (p.Length < 2)
        {
            return double.NaN;
        }

        var mx = p.Average(q => q.X);
        var my = p.Average(q => q.Y);
        var sxx = p.Sum(q => (q.X - mx) * (q.X - mx));
        return sxx == 0 ? double.NaN : p.Sum(q => (q.X - mx) * (q.Y - my)) / sxx;
    }
}
