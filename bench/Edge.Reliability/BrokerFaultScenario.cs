using System.Diagnostics;
using System.Net;
using Edge.Bench;

namespace Edge.Reliability;

/// <summary>
/// Scenario 3, broker faults: the broker cut off from the edges (RabbitMQ: a relay between the
/// edges and the broker resets every connection and refuses new ones; Kafka: the mock cluster's
/// brokers set down, which is what a broker restart looks like to a client) while publishing goes
/// on through the HTTP API and straight to the broker. Target: every accepted event delivered
/// once, 503 from the publish API during the cut, readiness false then true, delivery resuming
/// by itself.
/// </summary>
internal static class BrokerFaultScenario
{
    public static async Task<ScenarioResult> RunAsync(RunContext run, string broker, int clients, TimeSpan cut)
    {
        var before = TimeSpan.FromSeconds(run.Quick ? 6 : 15);
        var after = TimeSpan.FromSeconds(run.Quick ? 12 : 30);
        var result = new ScenarioResult("3 broker cut", broker, $"{clients:N0} clients, 2 edges, HTTP + direct publishing, cut {cut.TotalSeconds:N0} s" + (broker == "kafka" ? " (brokers down/up)" : " (relay edge↔broker)"));
        if (broker == "kafka" && run.KafkaBootstrap is not null)
        {
            result.Skipped = true;
            result.Other = "a real cluster (EDGE_KAFKA_BOOTSTRAP) cannot be set down from here; the mock cluster can";
            return result;
        }

        var log = $"rel-{run.RunId}-fault-{broker}";
        run.PrepareLog(broker, log);
        TcpRelay? brokerRelay = null;
        string? rabbitViaRelay = null;
        if (broker == "rabbitmq")
        {
            var uri = new Uri(run.RabbitMqUri);
            brokerRelay = new TcpRelay(new RelaySettings(0, [new IPEndPoint(IPAddress.Loopback, uri.Port)]));
            rabbitViaRelay = new UriBuilder(uri) { Port = brokerRelay.EndPoint.Port }.Uri.ToString();
        }

        try
        {
            // Publishes must fail within the cut (the Kafka default waits 10 s for delivery reports).
            var args = run.BrokerArgs(broker, log, rabbitViaRelay).Append("--Edge:Publish:RetryAfterSeconds=1")
                .Append(broker == "kafka" ? "--Edge:Broker:Kafka:PublishTimeout=00:00:03" : "--Edge:Broker:RabbitMq:PublishTimeout=00:00:03").ToArray();
            await using var a = EdgeProcess.Start(run, $"fault-{broker}-a", run.NextPort(), args);
            await using var b = EdgeProcess.Start(run, $"fault-{broker}-b", run.NextPort(), args);
            if (!await a.WaitReadyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false) || !await b.WaitReadyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false))
            {
                result.Failures.Add($"the edges did not become ready (logs {a.LogPath}, {b.LogPath})");
                return result;
            }

            await using var relay = new TcpRelay(new RelaySettings(0, [a.EndPoint, b.EndPoint]));
            var httpChannels = Enumerable.Range(0, 4).Select(k => $"{log}-h{k}").ToArray();
            var directChannels = Enumerable.Range(0, 4).Select(k => $"{log}-d{k}").ToArray();
            var target = new Target { Kind = TargetKind.Edge, Name = "relay", Server = relay.EndPoint, PublishBase = a.BaseUri };
            await using var fleet = new Fleet(new FleetSettings(target, clients, [.. httpChannels, .. directChannels], TimeSpan.FromMilliseconds(1000), TimeSpan.FromSeconds(10), RetryAfterStatus: true));
            if (!await fleet.StartAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false))
            {
                result.Failures.Add($"only {fleet.OpenCount} of {clients} streams opened");
            }

            await using var http = new HttpPublishSink([() => a, () => b]);
            IPublishSink direct = broker == "rabbitmq" ? new RabbitMqPublishSink(run.RabbitMqUri, log) : new KafkaPublishSink(run.KafkaServers, log);
            await using var directSink = direct;
            var viaHttp = new SequencedPublisher(http, httpChannels, 5);
            var viaBroker = new SequencedPublisher(direct, directChannels, 5);
            var total = before + cut + after;
            var publishing = Task.WhenAll(viaHttp.RunAsync(total, CancellationToken.None), viaBroker.RunAsync(total, CancellationToken.None));

            await Task.Delay(before).ConfigureAwait(false);
            viaHttp.StartWatching();
            Fault(run, broker, brokerRelay, down: true);
            var sw = Stopwatch.StartNew();
            var sawNotReady = false;
            while (sw.Elapsed < cut)
            {
                sawNotReady |= await a.IsReadyAsync().ConfigureAwait(false) == false && await b.IsReadyAsync().ConfigureAwait(false) == false;
                await Task.Delay(250).ConfigureAwait(false);
            }

            Fault(run, broker, brokerRelay, down: false);
            viaHttp.StopWatching();
            var duringCut = viaHttp.Window ?? [];
            sw.Restart();
            var readyAgain = await a.WaitReadyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false) && await b.WaitReadyAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            var readyAfter = sw.Elapsed.TotalSeconds;
            await publishing.ConfigureAwait(false);
            var check = await DeliveryCheck.AwaitAsync(() => fleet.Subscribers, [.. viaHttp.Logs, .. viaBroker.Logs], TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(15)).ConfigureAwait(false);

            result.AddDelivery(check);
            var httpLabels = viaHttp.Labels();
            var fiveXx = httpLabels.Where(l => l.Key.StartsWith('5') && l.Key != "503").Sum(l => l.Value);
            result.Figures["http_outcomes"] = httpLabels;
            result.Figures["http_outcomes_during_cut"] = duringCut;
            result.Figures["direct_outcomes"] = viaBroker.Labels();
            result.Figures["readiness_false_during_cut"] = sawNotReady;
            result.Figures["ready_again_s"] = Math.Round(readyAfter, 2);
            result.Figures["latency_p99_ms"] = fleet.Stats.Latency.PercentileMs(99);
            result.Figures["client_errors"] = fleet.Stats.Errors();
            result.Timing = $"ready again {readyAfter:N1} s after the cut ended; latency p99 {ScenarioResult.F(fleet.Stats.Latency.PercentileMs(99))} ms";
            result.Other = $"HTTP during cut: {ScenarioResult.Errors(duringCut)}; HTTP all: {ScenarioResult.Errors(httpLabels)}; direct: {ScenarioResult.Errors(viaBroker.Labels())}";
            result.Require(duringCut.GetValueOrDefault("503") > 0, "no 503 from the publish API during the cut");
            result.Require(fiveXx == 0, $"{fiveXx} publish answers were a 5xx other than 503");
            result.Require(sawNotReady, "readiness never false during the cut");
            result.Require(readyAgain, "readiness not true again within 60 s");
            return result;
        }
        finally
        {
            if (brokerRelay is not null)
            {
                await brokerRelay.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static void Fault(RunContext run, string broker, TcpRelay? brokerRelay, bool down)
    {
        if (brokerRelay is not null)
        {
            if (down)
            {
                brokerRelay.Cut();
            }
            else
            {
                brokerRelay.Restore();
            }
        }
        else if (down)
        {
            run.KafkaMock.SetAllBrokersDown();
        }
        else
        {
            run.KafkaMock.SetAllBrokersUp();
        }
    }
}
