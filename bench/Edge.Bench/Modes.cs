using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Edge.Bench;

internal static partial class Modes
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    private static void Emit(Options o, Dictionary<string, object?> row, string markdown)
    {
        row["time"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture);
        row["label"] = o.StrOrNull("label") ?? row["mode"];
        if (!row.ContainsKey("params"))
        {
            row["params"] = markdown.Split('|')[3].Trim();
        }

        var line = JsonSerializer.Serialize(row, Json);
        Console.WriteLine(line);
        Console.WriteLine(markdown);
        var outFile = o.StrOrNull("out");
        if (outFile is not null)
        {
            File.AppendAllText(outFile, line + Environment.NewLine);
        }
    }

    private static string F(double v, int digits = 1) => double.IsFinite(v) ? v.ToString("N" + digits, CultureInfo.InvariantCulture) : "n/a";

    private static double R(double v, int digits = 3) => double.IsFinite(v) ? Math.Round(v, digits) : -1;

    /// <summary>
    /// <c>--warmup</c> streams opened and closed, <c>--warmup-rounds</c> times, each round
    /// followed by a second's pause. A JIT-compiling server (.NET's tiered compilation) starts
    /// counting calls only once no new method has been compiled for 100 ms, and compiles hot
    /// code optimized after 30 counted calls, in the background: the second round is what
    /// lets that happen before the measurement instead of during it. A server compiled ahead
    /// of time (nginx) is unaffected.
    /// </summary>
    private static async Task WarmUpAsync(Options o, Target target)
    {
        var n = o.Int("warmup", 100);
        var rounds = o.Int("warmup-rounds", 2);
        if (n <= 0)
        {
            return;
        }

        for (var round = 0; round < rounds; round++)
        {
            var http2 = o.Flag("http2") ? Math.Max(1, o.Int("streams-per-connection", 10)) : 0;
            var settings = new GroupSettings(target, n, 1, 1, 16, TimeSpan.FromSeconds(5), "warmup", 1024, 0, http2);
            var g = settings.CreateLocal(0, 1);
            await g.ConnectAsync().ConfigureAwait(false);
            await g.DisposeAsync().ConfigureAwait(false);
            await Task.Delay(1000).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- hold
    public static async Task<int> HoldAsync(Options o)
    {
        var target = Target.From(o);
        var pids = o.Pids("pid");
        var streams = o.Int("streams", 10_000);
        var channels = o.Int("channels", 100);
        var settle = o.Dbl("settle", 3);
        var holdSeconds = o.Dbl("hold-seconds", 5);
        var settings = GroupSettings.From(o, target, streams, channels);
        var processes = settings.Http2 ? 1 : Groups.ProcessesFor(o, streams);
        var protocol = settings.Http2 ? "h2 over TLS" : target.Tls ? "HTTP/1.1 over TLS" : "HTTP/1.1";
        var connections = settings.Http2 ? (streams + settings.Http2StreamsPerConnection - 1) / settings.Http2StreamsPerConnection : streams;
        var parameters = settings.Http2
            ? $"{connections:N0} TLS conns × {settings.Http2StreamsPerConnection} h2 streams / {channels} ch"
            : $"{streams:N0} {(target.Tls ? "TLS " : "")}streams / {channels} ch";

        await WarmUpAsync(o, target).ConfigureAwait(false);
        var rssBefore = ProcStats.RssBytes(pids);
        var cpuBefore = ProcStats.CpuSeconds(pids);
        await using var groups = new Groups(settings, processes);
        var (snap, _, wall) = await groups.ConnectAsync().ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(settle)).ConfigureAwait(false);
        var rssAfter = ProcStats.RssBytes(pids);
        var cpuAfter = ProcStats.CpuSeconds(pids);
        await Task.Delay(TimeSpan.FromSeconds(holdSeconds)).ConfigureAwait(false);
        var (held, _) = await groups.SnapshotAsync().ConfigureAwait(false);
        var perStreamKb = snap.Succeeded > 0 ? (rssAfter - rssBefore) / 1024.0 / snap.Succeeded : double.NaN;
        Emit(o, new()
        {
            ["mode"] = "hold",
            ["target"] = target.Name,
            ["params"] = parameters,
            ["protocol"] = protocol,
            ["connections"] = connections,
            ["tls"] = snap.Tls,
            ["streams"] = streams,
            ["channels"] = channels,
            ["sources"] = settings.Sources,
            ["processes"] = processes,
            ["concurrency"] = settings.Concurrency,
            ["established"] = snap.Succeeded,
            ["open_after_hold"] = held.Open,
            ["connect_s"] = R(wall),
            ["server_rss_before_mb"] = R(rssBefore / 1048576.0, 1),
            ["server_rss_after_mb"] = R(rssAfter / 1048576.0, 1),
            ["rss_per_stream_kb"] = R(perStreamKb, 2),
            ["server_cpu_s_connect"] = R(cpuAfter - cpuBefore, 2),
            ["errors"] = snap.Errors,
            ["pids"] = pids.Count == 0 ? "none" : string.Join(',', ProcStats.Tree(pids)),
        }, $"| hold | {target.Name} | {parameters} | established {snap.Succeeded:N0} (open after {F(holdSeconds, 0)} s: {held.Open:N0}) | open in {F(wall, 2)} s | RSS {F(perStreamKb, 2)} KB/stream |");
        return snap.Succeeded == streams ? 0 : 1;
    }

    /// <summary>Waits until <paramref name="expected"/> new deliveries arrived, at most <paramref name="limit"/> s, or 3 s without progress.</summary>
    private static async Task<(Snapshot Snap, Histogram Hist)> DrainAsync(Groups groups, long uniqueBefore, long expected, double limit)
    {
        var sw = Stopwatch.StartNew();
        var progress = Stopwatch.StartNew();
        long last = -1;
        while (true)
        {
            var (snap, hist) = await groups.SnapshotAsync().ConfigureAwait(false);
            var got = snap.Unique - uniqueBefore;
            if (got >= expected || sw.Elapsed.TotalSeconds > limit)
            {
                return (snap, hist);
            }

            if (got != last)
            {
                last = got;
                progress.Restart();
            }
            else if (progress.Elapsed.TotalSeconds > 3)
            {
                return (snap, hist);
            }

            await Task.Delay(200).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- fanout
    public static async Task<int> FanoutAsync(Options o)
    {
        var target = Target.From(o);
        var pids = o.Pids("pid");
        var subs = o.Int("subs", 1000);
        var channels = o.Int("channels", 1);
        var seconds = o.Dbl("seconds", 10);
        var rates = o.Doubles("rates", o.Str("rate", "35"));
        var step = o.Flag("step");
        var maxP99 = o.Dbl("max-p99-ms", 100);
        var drain = o.Dbl("drain", 10);
        var settings = GroupSettings.From(o, target, subs, channels);
        var processes = Groups.ProcessesFor(o, subs);
        var names = Enumerable.Range(0, channels).Select(settings.ChannelName).ToArray();

        await WarmUpAsync(o, target).ConfigureAwait(false);
        using var publisher = new Publisher(target, o.Int("publish-inflight", 64));
        await publisher.WarmUpAsync(settings.ChannelPrefix + "-warm", 20).ConfigureAwait(false);
        await using var groups = new Groups(settings, processes);
        var (connected, _, wall) = await groups.ConnectAsync().ConfigureAwait(false);
        await Task.Delay(1000).ConfigureAwait(false);
        var subsOnChannel = new long[channels];
        for (var i = 0; i < subs; i++)
        {
            subsOnChannel[i % channels]++;
        }

        var warmSeconds = o.Dbl("warmup-seconds", 3);
        if (warmSeconds > 0)
        {
            // the same load for a few seconds first (JIT, caches, connection pools), not measured
            var (warmBefore, _) = await groups.SnapshotAsync().ConfigureAwait(false);
            var warm = await publisher.RunAsync(names, rates[0], warmSeconds, CancellationToken.None).ConfigureAwait(false);
            long warmExpected = 0;
            for (var k = 0; k < channels; k++)
            {
                warmExpected += warm.AcceptedByChannel[k] * subsOnChannel[k];
            }

            // let the warm-up's deliveries arrive, so none is counted in the first measurement
            await DrainAsync(groups, warmBefore.Unique, warmExpected, drain).ConfigureAwait(false);
            await Task.Delay(500).ConfigureAwait(false);
        }

        var best = 0.0;
        var bestRate = 0.0;
        var exit = 0;
        foreach (var rate in rates)
        {
            var (before, _) = await groups.SnapshotAsync().ConfigureAwait(false);
            await groups.ResetLatencyAsync().ConfigureAwait(false);
            var cpu0 = ProcStats.CpuSeconds(pids);
            var self0 = ProcStats.CpuSeconds([Environment.ProcessId]);
            var pub = await publisher.RunAsync(names, rate, seconds, CancellationToken.None).ConfigureAwait(false);
            long expected = 0;
            for (var k = 0; k < channels; k++)
            {
                expected += pub.AcceptedByChannel[k] * subsOnChannel[k];
            }

            var (after, hist) = await DrainAsync(groups, before.Unique, expected, drain).ConfigureAwait(false);

            var cpu1 = ProcStats.CpuSeconds(pids);
            var self1 = ProcStats.CpuSeconds([Environment.ProcessId]);
            var received = after.Unique - before.Unique;
            var dups = after.Duplicates - before.Duplicates;
            var lost = Math.Max(0, expected - received);
            var dps = received / pub.PublishSeconds;
            var cpuPerM = received > 0 ? (cpu1 - cpu0) / (received / 1e6) : double.NaN;
            var p99 = hist.PercentileMs(99);
            var pass = lost == 0 && dups == 0 && p99 < maxP99 && pub.OnPace && pub.Failed == 0 && connected.Succeeded == subs;
            Emit(o, new()
            {
                ["mode"] = "fanout",
                ["target"] = target.Name,
                ["protocol"] = target.Tls ? "HTTP/1.1 over TLS" : "HTTP/1.1",
                ["tls"] = connected.Tls,
                ["subs"] = subs,
                ["channels"] = channels,
                ["rate"] = rate,
                ["seconds"] = seconds,
                ["processes"] = processes,
                ["established"] = connected.Succeeded,
                ["connect_s"] = R(wall),
                ["published"] = pub.Accepted,
                ["publish_failed"] = pub.Failed,
                ["publish_rate"] = R(pub.AchievedRate, 1),
                ["publisher_on_pace"] = pub.OnPace,
                ["expected"] = expected,
                ["received"] = received,
                ["lost"] = lost,
                ["duplicates"] = dups,
                ["deliveries_per_s"] = R(dps, 0),
                ["p50_ms"] = R(hist.PercentileMs(50)),
                ["p90_ms"] = R(hist.PercentileMs(90)),
                ["p99_ms"] = R(p99),
                ["p999_ms"] = R(hist.PercentileMs(99.9)),
                ["max_ms"] = R(hist.Max / 1000.0),
                ["server_cpu_s"] = R(cpu1 - cpu0, 2),
                ["cpu_s_per_million"] = R(cpuPerM, 2),
                ["loadgen_cpu_s"] = R(self1 - self0, 2),
                ["loadavg"] = File.ReadAllText("/proc/loadavg").Trim(),
                ["server_closed_streams"] = after.UnexpectedCloses - before.UnexpectedCloses,
                ["open"] = after.Open,
                ["pass"] = pass,
                ["errors"] = after.Errors,
                ["publish_errors"] = pub.Errors,
            }, $"| fanout | {target.Name} | {subs:N0} {(target.Tls ? "TLS " : "")}subs / {channels} ch @ {rate} ev/s | {received:N0}/{expected:N0} lost {lost:N0} dup {dups:N0} | {F(dps, 0)} deliv/s | p50 {F(hist.PercentileMs(50), 2)} p99 {F(p99, 2)} p99.9 {F(hist.PercentileMs(99.9), 2)} max {F(hist.Max / 1000.0, 2)} ms | CPU {F(cpuPerM, 2)} s/M | {(pass ? "pass" : "FAIL")} |");
            if (pass)
            {
                if (dps > best)
                {
                    best = dps;
                    bestRate = rate;
                }
            }
            else
            {
                exit = 1;
                if (step)
                {
                    break;
                }
            }
        }

        if (step)
        {
            Emit(o, new()
            {
                ["mode"] = "fanout-max",
                ["target"] = target.Name,
                ["subs"] = subs,
                ["channels"] = channels,
                ["max_rate"] = bestRate,
                ["max_deliveries_per_s"] = R(best, 0),
                ["rates_tried"] = rates,
            }, $"| fanout-max | {target.Name} | {subs:N0} subs / {channels} ch | largest passing rate {bestRate} ev/s | {F(best, 0)} deliv/s |");
            return 0;
        }

        return exit;
    }

    // ---------------------------------------------------------------- storm
    public static async Task<int> StormAsync(Options o)
    {
        var target = Target.From(o);
        var pids = o.Pids("pid");
        var subs = o.Int("subs", 1000);
        var channels = o.Int("channels", 10);
        var rate = o.Dbl("rate", 100);
        var seconds = o.Dbl("seconds", 15);
        var cuts = o.Int("cuts", 1);
        var drain = o.Dbl("drain", 10);
        var settings = GroupSettings.From(o, target, subs, channels);
        var processes = Groups.ProcessesFor(o, subs);
        var names = Enumerable.Range(0, channels).Select(settings.ChannelName).ToArray();

        await WarmUpAsync(o, target).ConfigureAwait(false);
        using var publisher = new Publisher(target, o.Int("publish-inflight", 64));
        await publisher.WarmUpAsync(settings.ChannelPrefix + "-warm", 20).ConfigureAwait(false);
        await using var groups = new Groups(settings, processes);
        var (connected, _, wall) = await groups.ConnectAsync().ConfigureAwait(false);
        await Task.Delay(1000).ConfigureAwait(false);
        var (before, _) = await groups.SnapshotAsync().ConfigureAwait(false);
        await groups.ResetLatencyAsync().ConfigureAwait(false);
        var cpu0 = ProcStats.CpuSeconds(pids);
        var pubTask = publisher.RunAsync(names, rate, seconds, CancellationToken.None);
        var resumeTimes = new List<double>();
        var resumed = new List<int>();
        for (var c = 1; c <= cuts; c++)
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds * c / (cuts + 1))).ConfigureAwait(false) ;
            var (cut, cutWall) = await groups.CutAsync().ConfigureAwait(false);
            resumeTimes.Add(cutWall);
            resumed.Add(cut.Succeeded);
        }

        var pub = await pubTask.ConfigureAwait(false);
        long expected = 0;
        for (var k = 0; k < channels; k++)
        {
            expected += pub.AcceptedByChannel[k] * ((subs / channels) + (k < subs % channels ? 1 : 0));
        }

        var sw = Stopwatch.StartNew();
        Snapshot after;
        Histogram hist;
        long last = -1;
        var progress = Stopwatch.StartNew();
        while (true)
        {
            (after, hist) = await groups.SnapshotAsync().ConfigureAwait(false);
            var got = after.Unique - before.Unique;
            if (got >= expected || sw.Elapsed.TotalSeconds > drain)
            {
                break;
            }

            if (got != last)
            {
                last = got;
                progress.Restart();
            }
            else if (progress.Elapsed.TotalSeconds > 3)
            {
                break;
            }

            await Task.Delay(250).ConfigureAwait(false);
        }

        var cpu1 = ProcStats.CpuSeconds(pids);
        var received = after.Unique - before.Unique;
        var dups = after.Duplicates - before.Duplicates;
        var lost = Math.Max(0, expected - received);
        var allResumed = resumed.All(r => r == subs);
        Emit(o, new()
        {
            ["mode"] = "storm",
            ["target"] = target.Name,
            ["subs"] = subs,
            ["channels"] = channels,
            ["rate"] = rate,
            ["seconds"] = seconds,
            ["cuts"] = cuts,
            ["processes"] = processes,
            ["established"] = connected.Succeeded,
            ["connect_s"] = R(wall),
            ["resumed"] = resumed,
            ["all_resumed"] = allResumed,
            ["resume_s"] = resumeTimes.Select(t => R(t)).ToArray(),
            ["published"] = pub.Accepted,
            ["publisher_on_pace"] = pub.OnPace,
            ["expected"] = expected,
            ["received"] = received,
            ["lost"] = lost,
            ["lost_pct"] = R(expected > 0 ? 100.0 * lost / expected : 0, 2),
            ["duplicates"] = dups,
            ["gap_signals"] = after.Gaps - before.Gaps,
            ["p99_ms"] = R(hist.PercentileMs(99)),
            ["max_ms"] = R(hist.Max / 1000.0),
            ["server_cpu_s"] = R(cpu1 - cpu0, 2),
            ["errors"] = after.Errors,
        }, $"| storm | {target.Name} | {subs:N0} subs / {channels} ch @ {rate} ev/s, {cuts} cut(s) | resumed {string.Join('/', resumed)} in {string.Join('/', resumeTimes.Select(t => F(t, 2)))} s | lost {lost:N0} ({F(expected > 0 ? 100.0 * lost / expected : 0, 2)} %) dup {dups:N0} of {expected:N0} |");
        return lost == 0 && dups == 0 && allResumed ? 0 : 1;
    }

    // ---------------------------------------------------------------- proxy
    /// <summary>
    /// wrk against each URL in turn, <c>--rounds</c> times over (the targets alternate, so a
    /// quiet or busy moment of the machine falls on all of them); one line per target with the
    /// median round's requests/s and p99, and every round's figures beside them.
    /// </summary>
    public static async Task<int> ProxyAsync(Options o)
    {
        var urls = o.Str("urls", "edge=http://127.0.0.1:18080/proxy-test");
        var threads = o.Int("threads", 1);
        var conns = o.Int("connections", 64);
        var duration = o.Int("duration", 10);
        var rounds = Math.Clamp(o.Int("rounds", 1), 1, 9);
        var pids = o.Pids("pid");
        var targetPids = TargetPids(o.Str("target-pids", ""));
        var targets = new List<(string Name, string Url)>();
        foreach (var pair in urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var url = pair[(eq + 1)..];
            var host = new Uri(url).Host;
            if (host is not ("127.0.0.1" or "localhost") && !host.StartsWith("127.", StringComparison.Ordinal))
            {
                throw new ArgumentException("only loopback URLs");
            }

            targets.Add((pair[..eq], url));
        }

        var results = targets.ToDictionary(t => t.Name, _ => new List<WrkRound>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, url) in targets)
            {
                results[name].Add(await RunWrkAsync(url, threads, conns, duration, targetPids.GetValueOrDefault(name, pids)).ConfigureAwait(false));
            }
        }

        var exit = 0;
        foreach (var (name, url) in targets)
        {
            var all = results[name];
            var rps = Median(all.Select(r => r.Rps));
            var p50 = Median(all.Select(r => r.P50));
            var p90 = Median(all.Select(r => r.P90));
            var p99 = Median(all.Select(r => r.P99));
            var non2xx = all.Sum(r => double.IsFinite(r.Non2xx) ? r.Non2xx : 0);
            var requests = all.Sum(r => double.IsFinite(r.Requests) ? r.Requests : 0);
            var serverPids = targetPids.GetValueOrDefault(name, pids);
            var cpu = all.Sum(r => r.ServerCpu);
            var ok = all.All(r => double.IsFinite(r.Rps) && r.Rps > 0) && non2xx == 0;
            exit |= ok ? 0 : 1;
            Emit(o, new()
            {
                ["mode"] = "proxy",
                ["target"] = name,
                ["url"] = url,
                ["params"] = $"wrk -t{threads} -c{conns} -d{duration}s --latency" + (rounds > 1 ? $", median of {rounds} alternating rounds" : ""),
                ["requests"] = R(requests, 0),
                ["rps"] = R(rps, 0),
                ["p50_ms"] = R(p50),
                ["p90_ms"] = R(p90),
                ["p99_ms"] = R(p99),
                ["rounds_rps"] = all.Select(r => R(r.Rps, 0)).ToArray(),
                ["rounds_p99_ms"] = all.Select(r => R(r.P99)).ToArray(),
                ["non_2xx"] = non2xx,
                ["socket_errors"] = string.Join("; ", all.Select(r => r.SocketErrors).Where(e => e.Length > 0)),
                ["server_cpu_s"] = serverPids.Count > 0 ? R(cpu, 2) : null,
                ["cpu_us_per_request"] = serverPids.Count > 0 && requests > 0 ? R(cpu * 1e6 / requests, 1) : null,
                ["rounds_cpu_us_per_request"] = serverPids.Count > 0 ? all.Select(r => R(r.Requests > 0 ? r.ServerCpu * 1e6 / r.Requests : double.NaN, 1)).ToArray() : null,
            }, $"| proxy | {name} | {F(rps, 0)} req/s | p50 {F(p50, 2)} p99 {F(p99, 2)} ms | rounds {string.Join(" / ", all.Select(r => $"{F(r.Rps, 0)} @ {F(r.P99, 2)}"))} |{(serverPids.Count > 0 && requests > 0 ? $" server CPU {F(cpu * 1e6 / requests, 1)} µs/req |" : "")} non-2xx {non2xx} |");
        }

        return exit;
    }

    /// <summary><c>edge=123,nginx=456+457</c>: the server process trees of each target, for CPU per request.</summary>
    private static Dictionary<string, IReadOnlyList<int>> TargetPids(string text)
    {
        var map = new Dictionary<string, IReadOnlyList<int>>(StringComparer.Ordinal);
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"--target-pids wants name=pid[+pid...], not '{pair}'");
            }

            map[pair[..eq]] = pair[(eq + 1)..].Split('+', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        }

        return map;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private sealed record WrkRound(double Rps, double P50, double P90, double P99, double Non2xx, double Requests, string SocketErrors, double ServerCpu);

    private static async Task<WrkRound> RunWrkAsync(string url, int threads, int conns, int duration, IReadOnlyList<int> pids)
    {
        var psi = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { $"-t{threads}", $"-c{conns}", $"-d{duration}s", "--latency", url })
        {
            psi.ArgumentList.Add(a);
        }

        var cpu0 = ProcStats.CpuSeconds(pids);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("wrk did not start");
        var outText = await p.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(duration + 60));
        await p.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        var cpu1 = ProcStats.CpuSeconds(pids);
        double Pct(string pct)
        {
            var m = Regex.Match(outText, @"^\s*" + Regex.Escape(pct) + @"%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
            return m.Success ? Ms(m) : double.NaN;
        }

        var sockErr = SocketErrRegex().Match(outText);
        return new WrkRound(
            Num(RpsRegex().Match(outText)),
            Pct("50"),
            Pct("90"),
            Pct("99"),
            Num(Non2xxRegex().Match(outText)),
            Num(RequestsRegex().Match(outText)),
            sockErr.Success ? sockErr.Value : "",
            cpu1 - cpu0);
    }

    private static double Num(Match m) => m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;

    private static double Ms(Match m)
    {
        var v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => v / 1000, "s" => v * 1000, _ => v };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RpsRegex();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xxRegex();

    [GeneratedRegex(@"Socket errors:[^\n]*")]
    private static partial Regex SocketErrRegex();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsRegex();
}
