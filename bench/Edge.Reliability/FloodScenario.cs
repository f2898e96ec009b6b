using System.Net;
using System.Net.Sockets;
using System.Text;
using Edge.Bench;
using RabbitMQ.Client;

namespace Edge.Reliability;

/// <summary>
/// Scenario 4, floods and bad input against one edge while a control client keeps streaming: a
/// connect flood beyond the stream's rate limit, silent connections, readers that never read, and
/// every kind of bad input with its documented answer (oversized and malformed heads, a foreign
/// cursor, a wrong publish key, malformed and oversized envelopes over HTTP, a malformed broker
/// message). Target: the control client loses nothing and its p99 stays under 100 ms; every bad
/// input gets its documented answer, never a 5xx. Sources: control 127.0.0.1, probes 127.0.0.2,
/// the flood 127.0.0.3, silent and non-reading connections 127.0.0.4 (the limit is per IP).
/// </summary>
internal static class FloodScenario
{
    private static readonly IPAddress Probes = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Flooders = IPAddress.Parse("127.0.0.3");
    private static readonly IPAddress Idlers = IPAddress.Parse("127.0.0.4");

    public static async Task<ScenarioResult> RunAsync(RunContext run, string broker, int silent, int floodConnects)
    {
        var duration = TimeSpan.FromSeconds(run.Quick ? 25 : 60);
        var result = new ScenarioResult("4 floods, bad input", broker, $"1 edge; {floodConnects:N0} flood connects, {silent:N0} silent + 50 non-reading connections, 12 bad-input probes x 20; control at 20 ev/s, {duration.TotalSeconds:N0} s");
        var log = $"rel-{run.RunId}-flood-{broker}";
        run.PrepareLog(broker, log);
        var args = run.BrokerArgs(broker, log).Concat(
        [
            "--Edge:RateLimiting:Policies:connects:Kind=FixedWindow",
            "--Edge:RateLimiting:Policies:connects:PartitionBy=Ip",
            "--Edge:RateLimiting:Policies:connects:PermitLimit=50",
            "--Edge:RateLimiting:Policies:connects:Window=00:00:01",
            "--Edge:Streams:events:RateLimitPolicy=connects",
        ]).ToArray();
        await using var edge = EdgeProcess.Start(run, $"flood-{broker}", run.NextPort(), args);
        if (!await edge.WaitReadyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false))
        {
            result.Failures.Add($"the edge did not become ready (log {edge.LogPath})");
            return result;
        }

        var control = $"{log}-control";
        var target = new Target { Kind = TargetKind.Edge, Name = edge.Name, Server = edge.EndPoint, PublishBase = edge.BaseUri };
        await using var fleet = new Fleet(new FleetSettings(target, 1, [control], TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10)));
        if (!await fleet.StartAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false))
        {
            result.Failures.Add("the control client did not connect");
            return result;
        }

        await using var sink = new HttpPublishSink([() => edge]);
        var publisher = new SequencedPublisher(sink, [control], 20);
        var publishing = publisher.RunAsync(duration, CancellationToken.None);
        var held = new List<Socket>();
        var answers = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        void Note(string probe, string answer)
        {
            lock (answers)
            {
                if (!answers.TryGetValue(probe, out var d))
                {
                    answers[probe] = d = new Dictionary<string, int>(StringComparer.Ordinal);
                }

                d[answer] = d.GetValueOrDefault(answer) + 1;
            }
        }

        try
        {
            await Task.Delay(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            // Silent connections and readers that never read: held open for the rest of the run.
            for (var i = 0; i < silent; i++)
            {
                var s = await OpenAsync(Idlers, edge.EndPoint).ConfigureAwait(false);
                if (s is not null)
                {
                    held.Add(s);
                }
            }

            for (var i = 0; i < 50; i++)
            {
                var s = await OpenAsync(Idlers, edge.EndPoint, receiveBuffer: 1024).ConfigureAwait(false);
                if (s is not null)
                {
                    await s.SendAsync(Encoding.ASCII.GetBytes($"GET /events?channels={control} HTTP/1.1\r\nHost: x\r\n\r\n"), SocketFlags.None).ConfigureAwait(false);
                    held.Add(s);
                }
            }

            // The connect flood: all at once from one address, beyond the 50/s limit.
            await Task.WhenAll(Enumerable.Range(0, floodConnects).Select(async _ =>
                Note("connect flood", await StatusAsync(Flooders, edge.EndPoint, Encoding.ASCII.GetBytes($"GET /events?channels={log}-flood HTTP/1.1\r\nHost: x\r\n\r\n")).ConfigureAwait(false)))).ConfigureAwait(false);

            // Paced: the probes' own address is under the same per-IP connect limit (50/s), and the
            // three that open a stream, 20 rounds in well under a second, would meet it (429) instead
            // of their documented answers. Four rounds a second keep them at a fifth of it.
            var probes = BadInputs(log, edge.Port);
            for (var round = 0; round < 20; round++)
            {
                foreach (var (name, request, _) in probes)
                {
                    Note(name, await StatusAsync(Probes, edge.EndPoint, request).ConfigureAwait(false));
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250)).ConfigureAwait(false);
            }

            // A malformed broker message: skipped by every edge, counted, the reader goes on.
            var malformedBefore = await MalformedAsync(edge).ConfigureAwait(false);
            if (broker == "rabbitmq")
            {
                var factory = new ConnectionFactory { Uri = new Uri(run.RabbitMqUri) };
                await using var conn = await factory.CreateConnectionAsync().ConfigureAwait(false);
                await using var ch = await conn.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)).ConfigureAwait(false);
                foreach (var body in new[] { "not json", "{\"channel\":\"\"}", "{\"channel\":\"a\\nb\",\"data\":1}", "[1,2]" })
                {
                    await ch.BasicPublishAsync(log, string.Empty, mandatory: false, new BasicProperties(), Encoding.UTF8.GetBytes(body)).ConfigureAwait(false);
                }
            }

            await publishing.ConfigureAwait(false);
            var check = await DeliveryCheck.AwaitAsync(() => fleet.Subscribers, publisher.Logs, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            // The broker messages may have gone in after the last published event: give the feed
            // a bounded moment to read them.
            var malformedAfter = await MalformedAsync(edge).ConfigureAwait(false);
            for (var i = 0; i < 50 && broker == "rabbitmq" && malformedAfter - malformedBefore < 4; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
                malformedAfter = await MalformedAsync(edge).ConfigureAwait(false);
            }
            result.AddDelivery(check);
            var p99 = fleet.Stats.Latency.PercentileMs(99);
            result.Figures["control_p99_ms"] = p99;
            result.Figures["control_max_ms"] = fleet.Stats.Latency.Max / 1000.0;
            result.Figures["answers"] = answers;
            result.Figures["held_connections"] = held.Count;
            result.Figures["broker_malformed_counted"] = malformedAfter - malformedBefore;
            result.Figures["edge_alive"] = !edge.HasExited;
            result.Timing = $"control p99 {ScenarioResult.F(p99)} ms, max {ScenarioResult.F(fleet.Stats.Latency.Max / 1000.0)} ms";
            result.Other = string.Join("; ", answers.Select(a => $"{a.Key}: {ScenarioResult.Errors(a.Value)}"));
            result.Require(p99 < 100, $"control p99 {p99:N1} ms ≥ 100 ms");
            result.Require(!edge.HasExited, "the edge exited");
            result.Require(answers.GetValueOrDefault("connect flood")?.GetValueOrDefault("429") > 0, "the connect flood met no 429");
            foreach (var (probe, got) in answers)
            {
                var fiveXx = got.Where(g => g.Key.StartsWith('5')).Sum(g => g.Value);
                result.Require(fiveXx == 0, $"{probe}: {fiveXx} answers were 5xx");
            }

            foreach (var (name, _, expected) in probes)
            {
                var got = answers.GetValueOrDefault(name) ?? [];
                var wrong = got.Where(g => !expected.Contains(g.Key)).Sum(g => g.Value);
                result.Require(wrong == 0, $"{name}: answered {ScenarioResult.Errors(got)}, documented {string.Join('/', expected)}");
            }

            if (broker == "rabbitmq")
            {
                result.Require(malformedAfter - malformedBefore >= 4, $"only {malformedAfter - malformedBefore} of 4 malformed broker messages counted");
            }

            return result;
        }
        finally
        {
            foreach (var s in held)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>Each probe: a name, the raw bytes, the documented answers (status codes; <c>gap</c> = 200 with the gap signal).</summary>
    private static List<(string Name, byte[] Request, string[] Expected)> BadInputs(string log, int port)
    {
        byte[] A(string s) => Encoding.ASCII.GetBytes(s);
        string Publish(string body, string key = "dev-publish-key") =>
            $"POST /_edge/publish HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
        return
        [
            ("oversized header", A($"GET /events?channels={log}-x HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40_000)}\r\n\r\n"), ["431"]),
            ("oversized request line", A($"GET /events?channels={new string('a', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n"), ["414"]),
            ("malformed request line", A("GARBAGE\r\n\r\n"), ["400"]),
            ("NUL in a header", A("GET /events HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n"), ["400"]),
            ("foreign cursor", A($"GET /events?channels={log}-x HTTP/1.1\r\nHost: x\r\nLast-Event-ID: !!not-a-cursor!!\r\n\r\n"), ["gap"]),
            ("cursor of another epoch", A($"GET /events?channels={log}-x HTTP/1.1\r\nHost: x\r\nLast-Event-ID: zzzzzz-12\r\n\r\n"), ["gap"]),
            ("wildcard channel", A("GET /events?channels=* HTTP/1.1\r\nHost: x\r\n\r\n"), ["400"]),
            ("wrong publish key", A(Publish($"{{\"channel\":\"{log}-x\",\"data\":1}}", "wrong-key")), ["401"]),
            ("malformed envelope", A(Publish("{\"channel\":")), ["400"]),
            ("envelope with CR/LF in event", A(Publish($"{{\"channel\":\"{log}-x\",\"event\":\"a\\nb\",\"data\":1}}")), ["400"]),
            ("envelope without channel", A(Publish("{\"data\":1}")), ["400"]),
            ("oversized publish body", A(Publish($"{{\"channel\":\"{log}-x\",\"data\":\"{new string('a', 1_100_000)}\"}}")), ["400"]),
        ];
    }

    private static async Task<long> MalformedAsync(EdgeProcess edge) =>
        await edge.MetricsAsync().ConfigureAwait(false) is { } m ? m.GetProperty("counters").GetProperty("recordsMalformed").GetInt64() : -1;

    private static async Task<Socket?> OpenAsync(IPAddress source, IPEndPoint server, int receiveBuffer = 0)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBuffer > 0)
        {
            s.ReceiveBufferSize = receiveBuffer;
        }

        try
        {
            s.Bind(new IPEndPoint(source, 0));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await s.ConnectAsync(server, timeout.Token).ConfigureAwait(false);
            return s;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            s.Dispose();
            return null;
        }
    }

    /// <summary>Sends <paramref name="request"/> and returns the answer's status code (<c>gap</c> for a 200 stream whose first event is the gap signal), or what went wrong.</summary>
    private static async Task<string> StatusAsync(IPAddress source, IPEndPoint server, byte[] request)
    {
        using var s = await OpenAsync(source, server).ConfigureAwait(false);
        if (s is null)
        {
            return "connect-failed";
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[16384];
        var got = 0;
        try
        {
            await s.SendAsync(request, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // A server may answer and close before reading a body it refuses: read the answer anyway.
        }

        try
        {
            while (got < buffer.Length)
            {
                var n = await s.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                got += n;
                var text = Encoding.ASCII.GetString(buffer, 0, got);
                if (text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) && text.Contains("text/event-stream", StringComparison.Ordinal))
                {
                    if (text.Contains("event: edge-gap", StringComparison.Ordinal))
                    {
                        return "gap";
                    }

                    continue; // a stream: wait for its first frames
                }

                if (text.Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            if (got == 0)
            {
                return "no-answer";
            }
        }
        catch (SocketException e)
        {
            if (got == 0)
            {
                return "reset:" + e.SocketErrorCode;
            }
        }

        var head = Encoding.ASCII.GetString(buffer, 0, got);
        return head.Length >= 12 && head.StartsWith("HTTP/1.", StringComparison.Ordinal) ? (head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) ? "200-stream" : head[9..12]) : got == 0 ? "closed" : "garbled";
    }
}
