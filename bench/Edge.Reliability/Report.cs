using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Edge.Reliability;

/// <summary>One scenario's verdict: a JSON line for bench/results and a row of the table.</summary>
internal sealed class ScenarioResult(string scenario, string broker, string scale)
{
    public string Scenario { get; } = scenario;

    public string Broker { get; } = broker;

    public string Scale { get; } = scale;

    public bool Passed => Failures.Count == 0 && !Skipped;

    public bool Skipped { get; set; }

    public List<string> Failures { get; } = [];

    public Dictionary<string, object?> Figures { get; } = [];

    /// <summary>The table's "delivered" cell.</summary>
    public string Delivered { get; set; } = "";

    /// <summary>The table's "replay / latency" cell.</summary>
    public string Timing { get; set; } = "";

    /// <summary>The table's "other figures" cell.</summary>
    public string Other { get; set; } = "";

    public void Require(bool condition, string failure)
    {
        if (!condition)
        {
            Failures.Add(failure);
        }
    }

    public void AddDelivery(DeliveryCheck d)
    {
        Figures["expected"] = d.Expected;
        Figures["delivered"] = d.Delivered;
        Figures["delivered_pct"] = Math.Round(d.DeliveredPct, 4);
        Figures["lost"] = d.Lost;
        Figures["duplicates"] = d.Duplicates;
        Figures["out_of_order"] = d.OutOfOrder;
        Figures["gap_signals"] = d.Gaps;
        Figures["refused_but_delivered"] = d.RefusedButDelivered;
        Figures["unanswered_published"] = d.UnknownPublished;
        Figures["unanswered_delivered"] = d.UnknownDelivered;
        Figures["clients_missing_events"] = d.ClientsMissingEvents;
        Delivered = $"{F(d.DeliveredPct, 2)} % of {d.Expected:N0}; lost {d.Lost:N0}, dup {d.Duplicates:N0}, out of order {d.OutOfOrder:N0}";
        Require(d.Lost == 0, $"{d.Lost} accepted events not delivered ({d.ClientsMissingEvents} clients)");
        Require(d.Duplicates == 0, $"{d.Duplicates} duplicates");
        Require(d.OutOfOrder == 0, $"{d.OutOfOrder} out of order");
        Require(d.Gaps == 0, $"{d.Gaps} gap signals");
        Require(d.RefusedButDelivered == 0, $"{d.RefusedButDelivered} refused publishes were delivered");
    }

    public string ToJson(string time)
    {
        var row = new Dictionary<string, object?>
        {
            ["time"] = time,
            ["scenario"] = Scenario,
            ["broker"] = Broker,
            ["scale"] = Scale,
            ["result"] = Skipped ? "SKIP" : Passed ? "PASS" : "FAIL",
            ["failures"] = Failures,
        };
        foreach (var (k, v) in Figures)
        {
            row[k] = v;
        }

        return JsonSerializer.Serialize(row);
    }

    public string ToRow()
    {
        var verdict = Skipped ? "SKIP" : Passed ? "PASS" : "FAIL: " + string.Join("; ", Failures);
        return $"| {Scenario} | {Broker} | {Scale} | {Delivered} | {Timing} | {Other} | {verdict} |";
    }

    public const string Header = "| scenario | broker | scale | delivered | replay / latency | other | result |\n|---|---|---|---|---|---|---|";

    public static string F(double v, int digits = 1) => double.IsFinite(v) ? v.ToString("N" + digits, CultureInfo.InvariantCulture) : "n/a";

    public static string Errors(Dictionary<string, int> errors)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in errors.OrderByDescending(e => e.Value).Take(6))
        {
            sb.Append(sb.Length > 0 ? ", " : "").Append(k).Append(' ').Append(v.ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }
}
