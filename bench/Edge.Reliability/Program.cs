using System.Globalization;
using Edge.Bench;
using Edge.Reliability;

// One process runs the scenarios: it starts the edges, relays and (for Kafka) the mock cluster,
// drives the clients and publishers, checks every sequence and prints one table. See bench/reliability.sh.
Environment.SetEnvironmentVariable(
    "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS",
    Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") ?? "1");

Options o;
try
{
    o = new Options(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync(e.Message + "\nusage: Edge.Reliability run --scenarios 1,2,... [--quick] --out FILE");
    return 2;
}

var quick = o.Flag("quick");
var root = o.Str("root", Directory.GetCurrentDirectory());
using var run = new RunContext
{
    EdgeDll = Path.Combine(root, "src/Edge/bin/Release/net10.0/Edge.dll"),
    EdgeConfig = Path.Combine(root, "bench/edge-bench.json"),
    WorkDir = Directory.CreateDirectory(o.Str("work", Path.Combine(root, "bench/.run/reliability"))).FullName,
    Quick = quick,
    RabbitMqUri = o.Str("rabbitmq", Environment.GetEnvironmentVariable("EDGE_RABBITMQ_URI") ?? "amqp://guest:guest@127.0.0.1:5672/"),
    KafkaBootstrap = o.StrOrNull("kafka") ?? Environment.GetEnvironmentVariable("EDGE_KAFKA_BOOTSTRAP"),
    PortBase = o.Int("port-base", 19100),
};
var outFile = o.Str("out", Path.Combine(root, $"bench/results/reliability-{DateTime.UtcNow:yyyyMMddTHHmmssZ}.jsonl"));
var scenarios = o.Str("scenarios", "1,2,3,4,5").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var brokers = o.Str("brokers", "rabbitmq,kafka").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var clients = o.Int("clients", quick ? 200 : 2000);
var seconds = TimeSpan.FromSeconds(o.Dbl("seconds", quick ? 30 : 180));
var soakTime = TimeSpan.FromMinutes(o.Dbl("soak-minutes", quick ? 1 : 30));
var unknown = o.Unused().ToArray();
if (unknown.Length > 0)
{
    await Console.Error.WriteLineAsync("unknown options: " + string.Join(", ", unknown));
    return 2;
}

var results = new List<ScenarioResult>();
async Task Run(Func<Task<ScenarioResult>> scenario, string name)
{
    await Console.Error.WriteLineAsync($"[reliability] {DateTime.UtcNow:HH:mm:ss} scenario {name}");
    ScenarioResult r;
    try
    {
        r = await scenario().ConfigureAwait(false);
    }
    catch (Exception e)
    {
        r = new ScenarioResult(name, "", "");
        r.Failures.Add("the scenario threw " + e.GetType().Name + ": " + e.Message);
        await Console.Error.WriteLineAsync(e.ToString());
    }

    results.Add(r);
    await File.AppendAllTextAsync(outFile, r.ToJson(DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture)) + Environment.NewLine).ConfigureAwait(false);
    await Console.Error.WriteLineAsync($"[reliability] {r.ToRow()}");
}

foreach (var s in scenarios)
{
    switch (s)
    {
        case "1":
            foreach (var broker in brokers)
            {
                await Run(() => DropsScenario.RunAsync(run, broker, clients, Math.Max(1, clients / 20), 2, seconds), "1 drops " + broker);
            }

            break;
        case "2":
            foreach (var broker in brokers)
            {
                await Run(() => AvalancheScenario.RunAsync(run, broker, clients, Math.Max(1, clients / 20), TimeSpan.FromSeconds(quick ? 30 : 90)), "2 deploy avalanche " + broker);
            }

            break;
        case "4":
            await Run(() => FloodScenario.RunAsync(run, "rabbitmq", quick ? 1000 : 10_000, quick ? 300 : 2000), "4 floods rabbitmq");
            break;
        case "5":
            await Run(() => SoakScenario.RunAsync(run, "rabbitmq", quick ? 100 : 1000, soakTime), "5 soak rabbitmq");
            break;
        case "3":
            foreach (var broker in brokers)
            {
                await Run(() => BrokerFaultScenario.RunAsync(run, broker, quick ? 80 : 400, TimeSpan.FromSeconds(quick ? 10 : 30)), "3 broker cut " + broker);
            }

            break;
        default:
            await Console.Error.WriteLineAsync($"unknown scenario {s}");
            return 2;
    }
}

Console.WriteLine(ScenarioResult.Header.Replace("\n", Environment.NewLine, StringComparison.Ordinal));
foreach (var r in results)
{
    Console.WriteLine(r.ToRow());
}

Console.WriteLine($"raw lines: {outFile}");
// One machine-readable line per scenario for scripts/test.sh.
foreach (var r in results)
{
    Console.WriteLine($"SCENARIO {(r.Skipped ? "SKIP" : r.Passed ? "PASS" : "FAIL")} {r.Scenario} {r.Broker}".TrimEnd());
}

return results.All(r => r.Passed || r.Skipped) ? 0 : 1;
