using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Edge.Bench;

/// <summary>Reads the JSON lines of one run and prints the comparison table with edge/peer ratios.</summary>
internal static class Report
{
    private sealed record Metric(string Title, string Label, string Field, string Unit, string Goal);

    private static readonly Metric[] Metrics =
    [
        new("RSS per idle stream", "hold", "rss_per_stream_kb", "KB", "edge ≤ 0.8× nchan"),
        new("time to open the streams (64 at a time), after two warm-up rounds", "hold", "connect_s", "s", "edge ≤ nchan"),
        new("the same again (second burst on the same process)", "hold-again", "connect_s", "s", "edge ≤ nchan"),
        new("the same right after a start, one warm-up round (edge: JIT still compiling)", "hold-cold", "connect_s", "s", "(shown, not a goal)"),
        new("RSS per idle stream, multi-process edge", "hold-multi", "rss_per_stream_kb", "KB", "edge ≤ 0.8× nchan"),
        new("largest fan-out, 0 lost, p99 < 100 ms, publisher on pace", "fanout-max", "max_deliveries_per_s", "deliv/s", "edge ≥ 1.25× nchan"),
        new("server CPU per million deliveries, fan-out A", "fanout-a", "cpu_s_per_million", "CPU-s", "edge ≤ 1.0× nchan"),
        new("p99 publish→delivery, fan-out A", "fanout-a", "p99_ms", "ms", "edge ≤ nchan"),
        new("lost deliveries, fan-out A", "fanout-a", "lost", "", "0"),
        new("deliveries/s achieved (publisher on pace?), fan-out A", "fanout-a", "deliveries_per_s", "deliv/s", "= rate × subscribers"),
        new("server CPU per million deliveries, fan-out B", "fanout-b", "cpu_s_per_million", "CPU-s", "edge ≤ 1.0× nchan"),
        new("p99 publish→delivery, fan-out B", "fanout-b", "p99_ms", "ms", "edge ≤ nchan"),
        new("lost deliveries, fan-out B", "fanout-b", "lost", "", "0"),
        new("deliveries/s achieved (publisher on pace?), fan-out B", "fanout-b", "deliveries_per_s", "deliv/s", "= rate × subscribers"),
        new("reconnect storm: lost", "storm", "lost", "", "0"),
        new("reconnect storm: duplicated", "storm", "duplicates", "", "0"),
        new("reconnect storm: time until all resumed", "storm", "resume_s", "s", "all resumed"),
    ];

    /// <summary>
    /// The TLS rows (issue 15): edge and nginx+nchan on the same certificate and TLS settings, in
    /// the same run. Goals: memory per TLS stream ≤ 0.5× nchan's, CPU per delivery ≤ 0.8×, p99 and
    /// open time ≤ 1.0×.
    /// </summary>
    private static readonly Metric[] TlsMetrics =
    [
        new("RSS per idle stream, TLS/HTTP/1.1", "tls-hold", "rss_per_stream_kb", "KB", "edge ≤ 0.5× nchan"),
        new("time to open them (64 at a time)", "tls-hold", "connect_s", "s", "edge ≤ 1.0× nchan"),
        new("server CPU while opening them", "tls-hold", "server_cpu_s_connect", "CPU-s", "(shown)"),
        new("RSS per stream, HTTP/2", "h2-hold", "rss_per_stream_kb", "KB", "edge ≤ 0.5× nchan"),
        new("time to open all HTTP/2 streams (64 connections at a time)", "h2-hold", "connect_s", "s", "edge ≤ 1.0× nchan"),
        new("server CPU while opening them", "h2-hold", "server_cpu_s_connect", "CPU-s", "(shown)"),
        new("server CPU per million deliveries, fan-out over TLS", "tls-fanout", "cpu_s_per_million", "CPU-s", "edge ≤ 0.8× nchan"),
        new("p99 publish→delivery, fan-out over TLS", "tls-fanout", "p99_ms", "ms", "edge ≤ 1.0× nchan"),
        new("lost deliveries, fan-out over TLS", "tls-fanout", "lost", "", "0"),
        new("deliveries/s achieved (publisher on pace?), fan-out over TLS", "tls-fanout", "deliveries_per_s", "deliv/s", "= rate × subscribers"),
        new("negotiated (first stream)", "tls-hold", "tls", "", "the same for both"),
    ];

    /// <summary>The proxy over TLS: wrk https:// to the edge's catch-all route and to nginx proxy_pass, the same plaintext upstream.</summary>
    private static readonly Metric[] ProxyTlsMetrics =
    [
        new("requests/s", "proxy-tls", "rps", "req/s", "(shown)"),
        new("p99", "proxy-tls", "p99_ms", "ms", "(shown)"),
        new("p50", "proxy-tls", "p50_ms", "ms", "(shown)"),
        new("server CPU per request", "proxy-tls", "cpu_us_per_request", "µs", "(shown)"),
    ];

    /// <summary>The proxy comparison's rows; the goal is against the bare YARP app (bench/Edge.BareYarp).</summary>
    private static readonly Metric[] ProxyMetrics =
    [
        new("requests/s", "proxy", "rps", "req/s", "edge ≥ 0.95× bare YARP"),
        new("p99", "proxy", "p99_ms", "ms", "edge ≤ 1.05× bare YARP"),
        new("p50", "proxy", "p50_ms", "ms", "(shown)"),
        new("server CPU per request", "proxy", "cpu_us_per_request", "µs", "(shown)"),
    ];

    public static int Run(Options o)
    {
        var file = o.Str("in", "");
        var rows = File.ReadLines(file).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var targets = new[] { "edge", "nchan", "pushpin", "nginx", "upstream" };
        var sb = new StringBuilder();
        if (Metrics.Any(m => rows.Exists(r => Str(r, "label") == m.Label)))
        {
            sb.AppendLine("| measurement | parameters | edge | nginx+nchan | Pushpin | edge/nchan | edge/Pushpin | goal |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|");
        }

        foreach (var m in Metrics)
        {
            var mine = rows.Where(r => Str(r, "label") == m.Label).ToList();
            if (mine.Count == 0)
            {
                continue;
            }

            string Val(string target)
            {
                var r = mine.LastOrDefault(x => Str(x, "target") == target);
                return r.ValueKind == JsonValueKind.Undefined ? "" : Value(r, m.Field);
            }

            var edge = Val("edge");
            var parameters = Str(mine[^1], "params");
            var nchan = Val("nchan");
            var pushpin = Val("pushpin");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {m.Title} | {parameters} | {edge} | {nchan} | {pushpin} | {Ratio(edge, nchan)} | {Ratio(edge, pushpin)} | {m.Goal} |");
        }

        _ = targets;
        AppendProxyTable(sb, rows.Where(r => Str(r, "label") == "proxy").ToList());
        AppendTlsTable(sb, rows);
        Console.Write(sb.ToString());
        return 0;
    }

    /// <summary>The TLS rows: edge against nginx+nchan, then the proxy over TLS against nginx proxy_pass.</summary>
    private static void AppendTlsTable(StringBuilder sb, List<JsonElement> rows)
    {
        var tls = TlsMetrics.Where(m => rows.Exists(r => Str(r, "label") == m.Label)).ToList();
        if (tls.Count > 0)
        {
            if (sb.Length > 0)
            {
                sb.AppendLine();
            }

            sb.AppendLine("Over TLS (one self-signed RSA 2048 certificate for both, TLS 1.2+1.3, the same cipher preference; publishing in clear):");
            sb.AppendLine();
            sb.AppendLine("| measurement | parameters | edge | nginx+nchan | edge/nchan | goal |");
            sb.AppendLine("|---|---|---|---|---|---|");
            foreach (var m in tls)
            {
                var mine = rows.Where(r => Str(r, "label") == m.Label).ToList();
                string Val(string target)
                {
                    var r = mine.LastOrDefault(x => Str(x, "target") == target);
                    return r.ValueKind == JsonValueKind.Undefined ? "" : Value(r, m.Field);
                }

                var edge = Val("edge");
                var nchan = Val("nchan");
                var ratio = m.Field == "tls" ? (edge.Length > 0 && edge == nchan ? "=" : edge.Length > 0 && nchan.Length > 0 ? "differ" : "") : Ratio(edge, nchan);
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {m.Title} | {Str(mine[^1], "params")} | {edge} | {nchan} | {ratio} | {m.Goal} |");
            }
        }

        var proxy = rows.Where(r => Str(r, "label") == "proxy-tls").ToList();
        if (proxy.Count == 0)
        {
            return;
        }

        string P(string target, string field)
        {
            var r = proxy.LastOrDefault(x => Str(x, "target") == target);
            return r.ValueKind == JsonValueKind.Undefined ? "" : Value(r, field);
        }

        if (sb.Length > 0)
        {
            sb.AppendLine();
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"Proxy over TLS (wrk https://, the same plaintext upstream), {Str(proxy[^1], "params")}:");
        sb.AppendLine();
        sb.AppendLine("| proxy over TLS | nginx proxy_pass | edge | edge/nginx | goal |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var m in ProxyTlsMetrics)
        {
            var title = m.Unit.Length > 0 ? $"{m.Title} ({m.Unit})" : m.Title;
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {title} | {P("nginx", m.Field)} | {P("edge", m.Field)} | {Ratio(P("edge", m.Field), P("nginx", m.Field))} | {m.Goal} |");
        }
    }

    /// <summary>
    /// The same route through the upstream directly, nginx proxy_pass, the bare YARP app and the
    /// edge, in alternating rounds of one run: the ratios say what the edge adds around YARP.
    /// </summary>
    private static void AppendProxyTable(StringBuilder sb, List<JsonElement> proxy)
    {
        if (proxy.Count == 0)
        {
            return;
        }

        string Val(string target, string field)
        {
            var r = proxy.LastOrDefault(x => Str(x, "target") == target);
            return r.ValueKind == JsonValueKind.Undefined ? "" : Value(r, field);
        }

        if (sb.Length > 0)
        {
            sb.AppendLine();
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"Proxy, {Str(proxy[^1], "params")}:");
        sb.AppendLine();
        sb.AppendLine("| proxy | upstream direct | nginx proxy_pass | bare YARP | edge | edge/bare YARP | edge/nginx | goal |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var m in ProxyMetrics)
        {
            var edge = Val("edge", m.Field);
            var bare = Val("bare-yarp", m.Field);
            var nginx = Val("nginx", m.Field);
            var title = m.Unit.Length > 0 ? $"{m.Title} ({m.Unit})" : m.Title;
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {title} | {Val("upstream", m.Field)} | {nginx} | {bare} | {edge} | {Ratio(edge, bare)} | {Ratio(edge, nginx)} | {m.Goal} |");
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"| rounds (req/s @ p99 ms) | {Rounds("upstream")} | {Rounds("nginx")} | {Rounds("bare-yarp")} | {Rounds("edge")} | | | |");

        string Rounds(string target)
        {
            var r = proxy.LastOrDefault(x => Str(x, "target") == target);
            if (r.ValueKind == JsonValueKind.Undefined || !r.TryGetProperty("rounds_rps", out var rps) || !r.TryGetProperty("rounds_p99_ms", out var p99))
            {
                return "";
            }

            return string.Join(" / ", rps.EnumerateArray().Zip(p99.EnumerateArray()).Select(p => $"{p.First.GetDouble().ToString("N0", CultureInfo.InvariantCulture)} @ {p.Second.GetDouble().ToString("0.##", CultureInfo.InvariantCulture)}"));
        }
    }

    private static string Str(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";

    private static string Value(JsonElement r, string field)
    {
        if (!r.TryGetProperty(field, out var v))
        {
            return r.TryGetProperty("error", out var error) ? "not run: " + error.GetString() : "";
        }

        var text = v.ValueKind switch
        {
            JsonValueKind.Number => v.GetDouble().ToString(v.GetDouble() >= 1000 ? "N0" : "0.###", CultureInfo.InvariantCulture),
            JsonValueKind.Array => string.Join(" / ", v.EnumerateArray().Select(e => e.ToString())),
            _ => v.ToString(),
        };
        if (field == "resume_s" && r.TryGetProperty("all_resumed", out var all))
        {
            text += all.GetBoolean() ? " (all)" : " (NOT all)";
        }

        if (field is "deliveries_per_s" && r.TryGetProperty("publisher_on_pace", out var pace))
        {
            text += pace.GetBoolean() ? " (on pace)" : " (publisher behind)";
        }

        if (field is "lost" && r.TryGetProperty("publish_failed", out var pf) && pf.GetInt64() > 0)
        {
            text += $" ({pf.GetInt64()} publishes failed)";
        }

        if (field is "max_deliveries_per_s" && r.TryGetProperty("max_rate", out var rate))
        {
            text += $" ({rate} ev/s)";
        }

        if (field is "rss_per_stream_kb" or "connect_s" && r.TryGetProperty("established", out var est) && r.TryGetProperty("streams", out var n) && est.GetInt32() != n.GetInt32())
        {
            text += $" (only {est.GetInt32():N0} of {n.GetInt32():N0} opened)";
        }

        return text;
    }

    private static string Ratio(string a, string b)
    {
        static double First(string s)
        {
            var t = s.Split(' ')[0].Replace(",", "", StringComparison.Ordinal);
            return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
        }

        var x = First(a);
        var y = First(b);
        if (!double.IsFinite(x) || !double.IsFinite(y))
        {
            return "";
        }

        if (y == 0)
        {
            return x == 0 ? "=" : "∞";
        }

        return (x / y).ToString("0.00", CultureInfo.InvariantCulture) + "×";
    }
}
