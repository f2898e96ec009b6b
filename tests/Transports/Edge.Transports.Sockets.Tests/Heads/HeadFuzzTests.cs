using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Edge.Testing;
using Edge.Transports.Sockets;
using Microsoft.AspNetCore.Builder;
using Xunit;
using Xunit.Abstractions;
using KestrelMethod = Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpMethod;
using KestrelVersion = Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpVersion;

namespace Edge.Transports.Sockets.Tests.Heads;

/// <summary>
/// Issue 13, "fuzz the stream head reader": a seeded random-input property test of
/// <see cref="RequestHead.Read"/> over mutations of the heads in HeadCorpus/. The seed and the
/// number of executions can be set with EDGE_FUZZ_SEED and EDGE_FUZZ_EXECUTIONS.
/// </summary>
public sealed class HeadFuzzTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    /// <summary>One input (all its prefixes and splits) taking this long counts as a hang.</summary>
    private static readonly TimeSpan SlowInput = TimeSpan.FromSeconds(2);

    internal static int Seed => int.TryParse(Environment.GetEnvironmentVariable("EDGE_FUZZ_SEED"), CultureInfo.InvariantCulture, out var seed) ? seed : 20261203;

    private static int Executions => int.TryParse(Environment.GetEnvironmentVariable("EDGE_FUZZ_EXECUTIONS"), CultureInfo.InvariantCulture, out var count) ? count : 200_000;

    [Fact]
    public void TheCorpusHoldsRealHeads_AndTheOracleAcceptsThePlainOnes()
    {
        Assert.True(HeadCorpus.All.Count >= 50, $"{HeadCorpus.All.Count} corpus heads");
        var curl = HeadCorpus.All.Single(e => e.Name == "curl").Bytes;
        var (parsed, error) = KestrelHeadOracle.Parse(new ReadOnlySequence<byte>(curl));
        Assert.Null(error);
        Assert.Equal(KestrelMethod.Get, parsed.Method);
        Assert.Equal(KestrelVersion.Http11, parsed.Version);
        Assert.Equal("/events", parsed.Target);
        Assert.Equal([("Host", "localhost:8080"), ("User-Agent", "curl/8.5.0"), ("Accept", "*/*")], parsed.Headers);
        Assert.NotNull(KestrelHeadOracle.Parse(new ReadOnlySequence<byte>("GET /events HTTP/1.1\r\nHost: e\r\n folded\r\n\r\n"u8.ToArray())).Error);
    }

    [Fact]
    public async Task RequestHead_OnMutatedHeads_NeverThrowsOrHangs_DecidesMonotonically_AndTakesOnlyWhatKestrelAccepts()
    {
        var corpus = HeadCorpus.All;
        var findings = new Findings();
        var mutator = new HeadMutator(Seed);
        var executions = 0;
        var streams = 0;
        byte[] current = [];
        var clock = Stopwatch.StartNew();
        var slowest = TimeSpan.Zero;

        // On its own thread, so a hang in the reader fails the test (with the input) instead of stalling the run.
        var run = Task.Factory.StartNew(
            () =>
            {
                // Every corpus head as it is first, then the mutations.
                for (var i = 0; i < Executions && clock.Elapsed < Budget; i++)
                {
                    var input = i < corpus.Count ? corpus[i].Bytes : mutator.Next(corpus);
                    Volatile.Write(ref current, input);
                    var started = Stopwatch.GetTimestamp();
                    if (Check(input, mutator.Random, findings))
                    {
                        streams++;
                    }

                    var took = Stopwatch.GetElapsedTime(started);
                    if (took > slowest)
                    {
                        slowest = took;
                    }

                    if (took > SlowInput)
                    {
                        findings.Add("slow: one input took " + took.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms", input);
                    }

                    executions++;
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        try
        {
            await run.WaitAsync(Budget + TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"RequestHead.Read hangs (after {executions} executions) on {HeadCorpus.Escape(Volatile.Read(ref current))}");
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {Seed}: {executions} executions ({corpus.Count} corpus heads, then mutations) in {clock.Elapsed.TotalSeconds:F1} s, {executions / clock.Elapsed.TotalSeconds:F0}/s; {streams} read as a stream head; slowest input {slowest.TotalMilliseconds:F1} ms"));
        output.WriteLine(findings.Report());
        Assert.True(executions >= Math.Min(Executions, 20_000), $"only {executions} executions within {Budget.TotalSeconds:F0} s");
        Assert.True(findings.Count == 0, $"RequestHead.Read breaks its contract ({findings.Count} findings, seed {Seed}):\n{findings.Report()}");
    }

    /// <summary>
    /// The oracle at full depth: distinct fuzzed heads the reader takes as stream heads are sent,
    /// on their own connections, to a real Kestrel application that echoes what it saw. Kestrel must
    /// answer 200 (it validates Host, header bytes and the target beyond its parser) and see the same
    /// method, path, query, raw target and headers.
    /// </summary>
    [Fact]
    public async Task StreamHeads_AreServedByARealKestrel_WithTheSameRequest()
    {
        const int MaxHeads = 4000;
        var budget = TimeSpan.FromSeconds(20);
        await using var kestrel = await UpstreamTestServer.StartAsync(app => app.Map("{**any}", Echo));
        var heads = new List<(byte[] Bytes, RequestHead Head)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var mutator = new HeadMutator(Seed + 1);
        for (var i = 0; i < 400_000 && heads.Count < MaxHeads; i++)
        {
            var input = i < HeadCorpus.All.Count ? HeadCorpus.All[i].Bytes : mutator.Next(HeadCorpus.All);
            if (TryRead(new ReadOnlySequence<byte>(input), out var result, out var head, out _, out _) && result == HeadReadResult.Stream && seen.Add(Convert.ToBase64String(input)))
            {
                heads.Add((input, head!));
            }
        }

        var findings = new Findings();
        var clock = Stopwatch.StartNew();
        var next = -1;
        var sent = 0;
        var workers = Enumerable.Range(0, 8).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < heads.Count && clock.Elapsed < budget)
            {
                var (bytes, head) = heads[i];
                var (status, body) = await RawExchange.SendAsync(kestrel.Address.Port, bytes, TimeSpan.FromSeconds(5), needBody: true);
                Interlocked.Increment(ref sent);
                if (status != 200)
                {
                    findings.Add($"Stream, but a real Kestrel answers {(status == 0 ? "nothing" : status.ToString(CultureInfo.InvariantCulture))}", bytes);
                }
                else if (body != ExpectedEcho(head))
                {
                    findings.Add("Stream, but a real Kestrel sees another request", bytes);
                }
            }
        });
        await Task.WhenAll(workers).WaitAsync(budget + TimeSpan.FromSeconds(30));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {Seed + 1}: {heads.Count} distinct stream heads found, {sent} sent to Kestrel in {clock.Elapsed.TotalSeconds:F1} s"));
        output.WriteLine(findings.Report());
        Assert.True(sent >= Math.Min(heads.Count, 200), $"only {sent} heads checked");
        Assert.True(findings.Count == 0, $"The direct path takes heads Kestrel reads differently ({findings.Count}, seed {Seed + 1}):\n{findings.Report()}");
    }

    /// <summary>
    /// End to end: fuzzed heads, each on its own connection to a running edge (sent in pieces,
    /// then the client half-closes), must get an HTTP answer or a close within a short time, never
    /// a 5xx (but Kestrel's 505 for an unknown version); a stream opened before keeps receiving every published event throughout.
    /// </summary>
    [Fact]
    public async Task FuzzedHeads_SentToARunningEdge_AreAnsweredOrClosedPromptly_AndAStreamGoesOn()
    {
        const int Count = 600;
        var answerWithin = TimeSpan.FromSeconds(3);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var control = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=control");
        Assert.Equal(["ok"], (await control.ReadFrameAsync(TimeSpan.FromSeconds(10))).Comments);

        var mutator = new HeadMutator(Seed + 2);
        var inputs = Enumerable.Range(0, Count).Select(i => i < HeadCorpus.All.Count ? HeadCorpus.All[i].Bytes : mutator.Next(HeadCorpus.All)).ToList();
        var splits = inputs.Select(b => b.Length < 2 ? [] : Enumerable.Range(0, mutator.Random.Next(0, 3)).Select(_ => mutator.Random.Next(1, b.Length)).Order().Distinct().ToArray()).ToList();
        var findings = new Findings();
        var outcomes = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var published = 0;
        using var stopPublishing = new CancellationTokenSource();
        var publisher = Task.Run(async () =>
        {
            for (var n = 1; n <= 1000 && !stopPublishing.IsCancellationRequested; n++)
            {
                using var response = await edge.PublishAsync($$"""{"channel":"control","data":"{{n}}"}""");
                Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
                published = n;
                await Task.Delay(50);
            }
        });

        var clock = Stopwatch.StartNew();
        var next = -1;
        var workers = Enumerable.Range(0, 8).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < inputs.Count)
            {
                var (status, detail) = await RawExchange.SendInPiecesAsync(edge.BaseAddress.Port, inputs[i], splits[i], answerWithin);
                outcomes.AddOrUpdate(status switch { -1 => "hang", 0 => "closed", _ => status.ToString(CultureInfo.InvariantCulture) }, 1, (_, c) => c + 1);
                if (status == -1)
                {
                    findings.Add($"no answer and no close within {answerWithin.TotalSeconds:F0} s", inputs[i]);
                }
                else if (status >= 500 && status != 505)
                {
                    // 505 is Kestrel's answer to an unknown HTTP version (a client's error); any other 5xx is the edge's.
                    findings.Add($"answered {status}", inputs[i]);
                }
            }
        });
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(120));
        var sentIn = clock.Elapsed;
        await stopPublishing.CancelAsync();
        await publisher.WaitAsync(TimeSpan.FromSeconds(30));

        // Every event published meanwhile reached the control stream, in order.
        var received = new List<string>();
        while (received.Count < published)
        {
            received.Add((await control.ReadEventAsync(TimeSpan.FromSeconds(10))).Data ?? string.Empty);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {Seed + 2}: {inputs.Count} fuzzed heads sent to the edge in {sentIn.TotalSeconds:F1} s; outcomes: {string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value}"))}; control stream got {received.Count} of {published} events"));
        output.WriteLine(findings.Report());
        Assert.Equal(Enumerable.Range(1, published).Select(n => n.ToString(CultureInfo.InvariantCulture)), received);
        Assert.True(findings.Count == 0, $"The edge mishandles fuzzed heads ({findings.Count}, seed {Seed + 2}):\n{findings.Report()}");
    }

    private static string ExpectedEcho(RequestHead head) => EchoText("GET", "HTTP/1.1", head.Path, head.QueryString, head.RawTarget, head.Headers.Select(h => (h.Key, h.Value.ToArray())));

    private static string EchoText(string method, string protocol, string path, string query, string rawTarget, IEnumerable<(string Name, string?[] Values)> headers) =>
        $"{method} {protocol}\n{path}\n{query}\n{rawTarget}\n" + string.Join("\n", headers.Select(h => h.Name.ToUpperInvariant() + ": " + string.Join(" | ", h.Values)).Order(StringComparer.Ordinal));

    private static async Task Echo(Microsoft.AspNetCore.Http.HttpContext context)
    {
        var request = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!;
        var text = EchoText(request.Method, request.Protocol, request.Path, request.QueryString, request.RawTarget, request.Headers.Select(h => (h.Key, h.Value.ToArray())));
        var bytes = Encoding.UTF8.GetBytes(text);
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes);
    }

    /// <summary>
    /// Feeds <paramref name="input"/> to the reader the way the connection would: a growing prefix
    /// at random split points (each as one segment and as its pieces), sometimes byte by byte.
    /// Returns whether some prefix was read as a stream head.
    /// </summary>
    internal static bool Check(byte[] input, Random random, Findings findings)
    {
        var cuts = new SortedSet<int>();
        for (var i = random.Next(0, 7); i > 0 && input.Length > 1; i--)
        {
            cuts.Add(random.Next(1, input.Length));
        }

        cuts.Add(input.Length);
        var ends = cuts.ToList();
        var sawStream = CheckPrefixes(input, ends, pieces: ends, findings);
        if (random.Next(64) == 0 && input.Length <= 2048)
        {
            sawStream |= CheckPrefixes(input, Enumerable.Range(0, input.Length + 1).ToList(), pieces: null, findings);
        }

        return sawStream;
    }

    private static bool CheckPrefixes(byte[] input, List<int> ends, List<int>? pieces, Findings findings)
    {
        var previous = HeadReadResult.Incomplete;
        var previousEnd = 0;
        var sawStream = false;
        foreach (var end in ends)
        {
            var prefix = input.AsMemory(0, end);
            if (!TryRead(new ReadOnlySequence<byte>(prefix), out var result, out var head, out var length, out var thrown))
            {
                findings.Add($"throws {thrown!.GetType().Name}: {thrown.Message}", prefix.Span);
                return sawStream;
            }

            // The same bytes in the segments they arrived in must read the same.
            if (pieces is not null && pieces.Count(p => p < end) > 0)
            {
                var segmented = Segments.Of(prefix, pieces.Where(p => p < end));
                if (!TryRead(segmented, out var again, out var headAgain, out var lengthAgain, out thrown))
                {
                    findings.Add($"throws {thrown!.GetType().Name} on a segmented buffer: {thrown.Message}", prefix.Span);
                    return sawStream;
                }

                if (again != result || lengthAgain != length || Describe(headAgain) != Describe(head))
                {
                    findings.Add($"segmentation changes the answer: {result} as one segment, {again} in pieces", prefix.Span);
                }
            }

            // Decisions are monotone: NotDirect stays NotDirect; after a stream head only NotDirect (bytes follow the head).
            if (previous == HeadReadResult.NotDirect && result != HeadReadResult.NotDirect)
            {
                findings.Add($"not monotone: NotDirect at {previousEnd} bytes, then {result} at {end}", prefix.Span);
            }
            else if (previous == HeadReadResult.Stream && result != HeadReadResult.NotDirect)
            {
                findings.Add($"not monotone: Stream at {previousEnd} bytes, then {result} at {end}", prefix.Span);
            }

            if (result == HeadReadResult.Incomplete && end > RequestHead.MaxHeadBytes)
            {
                findings.Add($"still Incomplete past {RequestHead.MaxHeadBytes} bytes (the connection would wait unboundedly)", prefix.Span);
            }

            if (result == HeadReadResult.Stream)
            {
                sawStream = true;
                CheckStreamHead(prefix, head, length, findings);
            }

            previous = result;
            previousEnd = end;
        }

        return sawStream;
    }

    /// <summary>A stream head is the whole buffer, and exactly what Kestrel's parser reads from it.</summary>
    private static void CheckStreamHead(ReadOnlyMemory<byte> buffer, RequestHead? head, int length, Findings findings)
    {
        if (head is null || length != buffer.Length)
        {
            findings.Add($"Stream with length {length} for a buffer of {buffer.Length} bytes (or no head)", buffer.Span);
            return;
        }

        var (kestrel, error) = KestrelHeadOracle.Parse(new ReadOnlySequence<byte>(buffer));
        if (error is not null)
        {
            findings.Add($"Stream, but {Category(error)}", buffer.Span);
            return;
        }

        if (kestrel.Method != KestrelMethod.Get || kestrel.Version != KestrelVersion.Http11)
        {
            findings.Add($"Stream, but Kestrel reads {kestrel.Method} {kestrel.Version}", buffer.Span);
        }

        if (kestrel.Target != head.RawTarget || head.Path + head.QueryString != head.RawTarget)
        {
            findings.Add("Stream, but the target differs from Kestrel's", buffer.Span);
        }

        if (kestrel.Headers.Count(h => string.Equals(h.Name, "Host", StringComparison.OrdinalIgnoreCase)) != 1)
        {
            findings.Add("Stream without exactly one Host header (Kestrel answers 400)", buffer.Span);
        }

        var theirs = string.Join("\n", kestrel.Headers.GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase).Select(g => g.Key.ToUpperInvariant() + ": " + string.Join(" | ", g.Select(h => h.Value))).Order(StringComparer.Ordinal));
        var ours = string.Join("\n", head.Headers.Select(h => h.Key.ToUpperInvariant() + ": " + string.Join(" | ", h.Value.ToArray())).Order(StringComparer.Ordinal));
        if (theirs != ours)
        {
            findings.Add("Stream, but the headers differ from Kestrel's", buffer.Span);
        }
    }

    /// <summary>Groups Kestrel's messages by kind (without the quoted request bytes).</summary>
    private static string Category(string error)
    {
        var colon = error.IndexOf(": '", StringComparison.Ordinal);
        return colon < 0 ? error : error[..colon];
    }

    internal static string Describe(RequestHead? head) => head is null
        ? "-"
        : ((Edge.Streams.StreamRoute)head.Route).Stream.Name + " " + head.RawTarget + " " + head.Path + " " + head.QueryString + " " + string.Join(";", head.Headers.Select(h => h.Key + "=" + string.Join("|", h.Value.ToArray())));

    internal static bool TryRead(ReadOnlySequence<byte> buffer, out HeadReadResult result, out RequestHead? head, out int length, out Exception? thrown)
    {
        try
        {
            result = RequestHead.Read(buffer, HeadCorpus.Catalog.Match, out head, out length);
            thrown = null;
            return true;
        }
#pragma warning disable CA1031 // Any exception is a finding.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            (result, head, length, thrown) = (HeadReadResult.NotDirect, null, 0, ex);
            return false;
        }
    }

    /// <summary>Property violations by kind, with the first few inputs of each.</summary>
    internal sealed class Findings
    {
        private readonly Dictionary<string, (int Count, List<string> Examples)> _byKind = new(StringComparer.Ordinal);

        public int Count
        {
            get
            {
                lock (_byKind)
                {
                    return _byKind.Values.Sum(v => v.Count);
                }
            }
        }

        public void Add(string kind, ReadOnlySpan<byte> input)
        {
            lock (_byKind)
            {
                if (!_byKind.TryGetValue(kind, out var entry))
                {
                    entry = (0, []);
                }

                // The shortest examples are the easiest to read.
                entry.Examples.Add(HeadCorpus.Escape(input));
                entry.Examples.Sort((a, b) => a.Length.CompareTo(b.Length));
                if (entry.Examples.Count > 3)
                {
                    entry.Examples.RemoveAt(3);
                }

                _byKind[kind] = (entry.Count + 1, entry.Examples);
            }
        }

        public string Report()
        {
            lock (_byKind)
            {
                if (_byKind.Count == 0)
                {
                    return "no findings";
                }

                var text = new StringBuilder();
                foreach (var (kind, (count, examples)) in _byKind.OrderByDescending(k => k.Value.Count))
                {
                    text.Append(CultureInfo.InvariantCulture, $"- {kind}: {count}x, e.g.\n");
                    foreach (var example in examples)
                    {
                        text.Append("    ").Append(example).Append('\n');
                    }
                }

                return text.ToString();
            }
        }
    }

    /// <summary>A buffer made of the pieces a connection delivered, one segment each.</summary>
    private sealed class Segments : ReadOnlySequenceSegment<byte>
    {
        private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public static ReadOnlySequence<byte> Of(ReadOnlyMemory<byte> bytes, IEnumerable<int> cuts)
        {
            var bounds = cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order().Append(bytes.Length).ToList();
            var first = new Segments(bytes[..bounds[0]], 0);
            var last = first;
            for (var i = 1; i < bounds.Count; i++)
            {
                var next = new Segments(bytes[bounds[i - 1]..bounds[i]], bounds[i - 1]);
                last.Next = next;
                last = next;
            }

            return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }
    }
}
