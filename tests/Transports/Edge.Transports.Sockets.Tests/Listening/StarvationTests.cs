using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Edge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Edge.Transports.Sockets.Tests.Listening;

/// <summary>
/// Runs alone (no other test class at the same time): it measures latencies under load on a
/// shared 2-core machine and the process's thread count, which parallel tests would disturb.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StarvationCollection
{
    public const string Name = "Starvation (runs alone)";
}

/// <summary>
/// Issue 13, "starvation test": connections that send nothing, or one byte of a head per second,
/// must cost no thread and stall nothing. A flood of both kinds is held open against a real edge
/// while health, publish, a new stream and a proxied request are each asked every 100 ms, each on
/// a new connection; every answer must come within a second, and the thread count must come back
/// to where it started once the flood leaves.
/// </summary>
[Collection(StarvationCollection.Name)]
public sealed class StarvationTests(ITestOutputHelper output)
{
    private const int SilentConnections = 1_000;
    private const int TricklingConnections = 1_000;

    /// <summary>
    /// Longer than the listener's TCP_DEFER_ACCEPT (5 s, which Linux turns into a hand-over of a
    /// silent connection after about 8 s), so the silent connections reach the accept path while
    /// the probes run, but well short of Kestrel's 30 s request-head timeout.
    /// </summary>
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(12);

    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ProbeLimit = TimeSpan.FromSeconds(1);

    /// <summary>A probe that has no answer by then is recorded as failed (and so over the limit).</summary>
    private static readonly TimeSpan ProbeGiveUp = TimeSpan.FromSeconds(5);

    private const int ThreadSlack = 10;

    /// <summary>
    /// Managed heap per held flood connection, both its ends counted (the client sockets are in
    /// this process too). Kestrel holds one for about 11 KB; a 32 KB peek buffer per waiting
    /// connection, which issue 13 rules out, takes it far past this.
    /// </summary>
    private const double MaxHeapPerConnectionKb = 16;
    private static readonly TimeSpan ThreadsSettle = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SilentAndTricklingConnections_StallNoRequest_AndCostNoThread(bool directStreams)
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/api/ping", () => "pong"));
        var settings = TestSettings.Default(("Edge:DirectStreams", directStreams ? "true" : "false"));
        settings["ReverseProxy:Routes:app:ClusterId"] = "app";
        settings["ReverseProxy:Routes:app:Match:Path"] = "/api/{**rest}";
        settings["ReverseProxy:Clusters:app:Destinations:d1:Address"] = upstream.Address.ToString();
        await using var edge = await EdgeTestHost.StartAsync(settings);
        var port = edge.BaseAddress.Port;
        var probes = Probe.All(edge.BaseAddress.Authority);

        // Warm up (JIT, YARP's connection pool, the broker), then count threads at rest.
        foreach (var probe in probes)
        {
            for (var i = 0; i < 5; i++)
            {
                var warm = await probe.RunAsync(port);
                Assert.True(warm.Ok, $"{probe.Kind} fails without any flood: {warm.Error}");
            }
        }

        await Task.Delay(1000);
        var threadsBefore = ThreadCount();
        var namesBefore = ThreadNames();
        var namesDuring = namesBefore;
        var timeline = new StringBuilder();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        var clock = Stopwatch.StartNew();
        await using var flood = await Flood.OpenAsync(port, SilentConnections, TricklingConnections, edge.BaseAddress.Authority);
        var opened = clock.Elapsed;
        Assert.True(
            flood.Connected == SilentConnections + TricklingConnections,
            $"only {flood.Connected} of {SilentConnections + TricklingConnections} flood connections could connect ({flood.ConnectErrors} errors) in {opened.TotalSeconds:F1} s");

        // Ask every probe every 100 ms while the flood is held; sample the threads meanwhile.
        var results = probes.ToDictionary(p => p.Kind, _ => new List<ProbeResult>());
        var pending = new List<(string Kind, Task<ProbeResult> Task)>();
        var threadsDuring = threadsBefore;
        var holding = Stopwatch.StartNew();
        var maxTicks = (int)(Hold / ProbeInterval);
        for (var tick = 0; tick < maxTicks && holding.Elapsed < Hold + TimeSpan.FromSeconds(5); tick++)
        {
            foreach (var probe in probes)
            {
                pending.Add((probe.Kind, probe.RunAsync(port)));
            }

            if (tick % 5 == 0)
            {
                var now = ThreadCount();
                timeline.Append(CultureInfo.InvariantCulture, $" {holding.Elapsed.TotalSeconds:F1}s:{now}/{ThreadPool.ThreadCount}/{ThreadPool.PendingWorkItemCount}");
                if (now > threadsDuring)
                {
                    threadsDuring = now;
                    namesDuring = ThreadNames();
                }
            }

            var next = ProbeInterval * (tick + 1) - holding.Elapsed;
            if (next > TimeSpan.Zero)
            {
                await Task.Delay(next);
            }
        }

        // Each probe gives up by itself after ProbeGiveUp; this bound only guards against a bug here.
        await Task.WhenAll(pending.Select(p => p.Task)).WaitAsync(ProbeGiveUp + TimeSpan.FromSeconds(10));
        threadsDuring = Math.Max(threadsDuring, ThreadCount());
        foreach (var (kind, task) in pending)
        {
            results[kind].Add(await task);
        }

        var held = holding.Elapsed;
        var heapHeld = GC.GetTotalMemory(forceFullCollection: true);
        var floodAlive = flood.StillOpen;
        var trickled = flood.BytesTrickled;
        await flood.DisposeAsync();

        // Back within a few threads of the start once the flood has left.
        var settling = Stopwatch.StartNew();
        var threadsAfter = ThreadCount();
        while (threadsAfter > threadsBefore + ThreadSlack && settling.Elapsed < ThreadsSettle)
        {
            await Task.Delay(250);
            threadsAfter = ThreadCount();
        }

        output.WriteLine($"Edge:DirectStreams={directStreams}: {SilentConnections} silent + {TricklingConnections} trickling connections opened in {opened.TotalSeconds:F1} s, held {held.TotalSeconds:F1} s ({floodAlive} still open by the edge at the end, {trickled} bytes trickled)");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"managed heap: {heapBefore / 1e6:F1} MB before, {heapHeld / 1e6:F1} MB with the flood held, {(heapHeld - heapBefore) / (double)(SilentConnections + TricklingConnections) / 1024:F1} KB per flood connection (both ends of each are in this process)"));
        output.WriteLine($"threads: before {threadsBefore}, during (max) {threadsDuring}, after {threadsAfter} ({settling.Elapsed.TotalSeconds:F1} s after the flood left)");
        output.WriteLine($"  timeline (time held: threads/pool threads/pool queue):{timeline}");
        output.WriteLine($"  before: {namesBefore}");
        output.WriteLine($"  during: {namesDuring}");
        output.WriteLine($"  after:  {ThreadNames()}");
        var failures = new List<string>();
        foreach (var (kind, list) in results)
        {
            var ms = list.Select(r => r.Elapsed.TotalMilliseconds).Order().ToArray();
            var over = list.Count(r => !r.Ok || r.Elapsed > ProbeLimit);
            var failed = list.Where(r => !r.Ok).ToList();
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{kind,-8} n={list.Count} p50={Percentile(ms, 0.50):F0} ms p99={Percentile(ms, 0.99):F0} ms max={ms[^1]:F0} ms over 1 s: {over}, failed: {failed.Count}{(failed.Count > 0 ? $" (first: {failed[0].Error})" : string.Empty)}"));
            if (over > 0)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{kind}: worst {ms[^1]:F0} ms, {over} of {list.Count} over 1 s ({failed.Count} without an answer{(failed.Count > 0 ? $", first: {failed[0].Error}" : string.Empty)})"));
            }
        }

        var heapPerConnectionKb = (heapHeld - heapBefore) / (double)(SilentConnections + TricklingConnections) / 1024;
        if (heapPerConnectionKb > MaxHeapPerConnectionKb)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"memory: {heapPerConnectionKb:F1} KB of managed heap per waiting connection (at most {MaxHeapPerConnectionKb} KB)"));
        }

        Assert.True(failures.Count == 0, $"Under the flood (Edge:DirectStreams={directStreams}): " + string.Join("; ", failures));
        Assert.True(
            threadsAfter <= threadsBefore + ThreadSlack,
            $"threads: {threadsBefore} before the flood, {threadsDuring} during, still {threadsAfter} {ThreadsSettle.TotalSeconds:F0} s after it left (during: {namesDuring})");
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>The process's threads by name (Linux truncates names to 15 bytes), most numerous first.</summary>
    private static string ThreadNames()
    {
        try
        {
            var names = Directory.EnumerateDirectories("/proc/self/task")
                .Select(task =>
                {
                    try
                    {
                        return File.ReadAllText(Path.Combine(task, "comm")).Trim();
                    }
                    catch (IOException)
                    {
                        return "(gone)";
                    }
                })
                .GroupBy(name => name)
                .OrderByDescending(g => g.Count())
                .Select(g => $"{g.Count()}x '{g.Key}'");
            return string.Join(", ", names);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "(no /proc)";
        }
    }

    private static int ThreadCount()
    {
        // /proc/self/status names the live threads at once; Process.Threads lists them one by one.
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                return int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
            }
        }

        using var process = Process.GetCurrentProcess();
        return process.Threads.Count;
    }

    private readonly record struct ProbeResult(bool Ok, TimeSpan Elapsed, string? Error);

    /// <summary>One kind of request, sent on a new connection, answered once <see cref="_done"/> holds for what arrived.</summary>
    private sealed class Probe(string kind, string request, string expectedStatus, string? bodyMarker)
    {
        private static int _sequence;

        public string Kind { get; } = kind;

        public static Probe[] All(string authority)
        {
            const string json = """{"channel":"probe","data":"tick"}""";
            return
            [
                new("health", $"GET /_edge/health HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n", "200", null),
                new("publish", $"POST /_edge/publish HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {TestSettings.PublishKey}\r\nContent-Type: application/json\r\nContent-Length: {json.Length}\r\nConnection: close\r\n\r\n{json}", "202", null),
                new("stream", $"GET /events?channels=probe HTTP/1.1\r\nHost: {authority}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n", "200", ":ok"),
                new("proxied", $"GET /api/ping HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n", "200", "pong"),
            ];
        }

        public async Task<ProbeResult> RunAsync(int port)
        {
            Interlocked.Increment(ref _sequence);
            var clock = Stopwatch.StartNew();
            using var timeout = new CancellationTokenSource(ProbeGiveUp);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            var received = new StringBuilder();
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
                await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, timeout.Token);
                var buffer = new byte[4096];
                for (var reads = 0; reads < 1000; reads++)
                {
                    var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                    if (n == 0)
                    {
                        return Judge(received.ToString(), clock.Elapsed, closed: true);
                    }

                    received.Append(Encoding.Latin1.GetString(buffer, 0, n));
                    var text = received.ToString();
                    var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                    if (headEnd >= 0 && (bodyMarker is null || text.IndexOf(bodyMarker, headEnd, StringComparison.Ordinal) >= 0))
                    {
                        return Judge(text, clock.Elapsed, closed: false);
                    }
                }

                return new ProbeResult(false, clock.Elapsed, "too many reads");
            }
            catch (OperationCanceledException)
            {
                return new ProbeResult(false, clock.Elapsed, $"no answer within {ProbeGiveUp.TotalSeconds:F0} s (received {received.Length} bytes)");
            }
            catch (SocketException ex)
            {
                return new ProbeResult(false, clock.Elapsed, $"{ex.SocketErrorCode} after {clock.Elapsed.TotalMilliseconds:F0} ms");
            }
        }

        private ProbeResult Judge(string text, TimeSpan elapsed, bool closed)
        {
            var statusLine = text.Split("\r\n", 2)[0];
            if (!statusLine.StartsWith($"HTTP/1.1 {expectedStatus} ", StringComparison.Ordinal))
            {
                return new ProbeResult(false, elapsed, $"'{(statusLine.Length == 0 ? (closed ? "closed without an answer" : "?") : statusLine)}'");
            }

            if (bodyMarker is not null && !text.Contains(bodyMarker, StringComparison.Ordinal))
            {
                return new ProbeResult(false, elapsed, $"closed before '{bodyMarker}'");
            }

            return new ProbeResult(true, elapsed, null);
        }
    }

    /// <summary>
    /// Connections that send nothing and connections that send one byte of a stream GET's head per
    /// second (never finishing it), all on async sockets: one timer sends the next byte on each.
    /// A pending receive on each notices when the edge closes one.
    /// </summary>
    private sealed class Flood : IAsyncDisposable
    {
        private const int ConnectConcurrency = 64;
        private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

        private readonly List<Socket> _silent = [];
        private readonly List<Socket> _trickling = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _watchers = [];
        private byte[] _head = [];
        private Task _trickle = Task.CompletedTask;
        private int _closedByEdge;
        private long _bytesTrickled;
        private bool _disposed;

        public int Connected => _silent.Count + _trickling.Count;

        public int ConnectErrors { get; private set; }

        public int StillOpen => Connected - Volatile.Read(ref _closedByEdge);

        public long BytesTrickled => Interlocked.Read(ref _bytesTrickled);

        public static async Task<Flood> OpenAsync(int port, int silent, int trickling, string authority)
        {
            var flood = new Flood
            {
                // A stream GET: the direct path's own kind of request, so it keeps looking at it.
                // At one byte a second it stays far from complete during the test.
                _head = Encoding.ASCII.GetBytes($"GET /events?channels=trickle-trickle-trickle HTTP/1.1\r\nHost: {authority}\r\nAccept: text/event-stream\r\n\r\n"),
            };
            try
            {
                await flood.ConnectAsync(port, silent, flood._silent);
                await flood.ConnectAsync(port, trickling, flood._trickling);
                foreach (var socket in flood._silent.Concat(flood._trickling))
                {
                    flood._watchers.Add(flood.WatchAsync(socket));
                }

                flood._trickle = flood.TrickleAsync();
                return flood;
            }
            catch
            {
                await flood.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await _stop.CancelAsync();
            await _trickle.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (var socket in _silent.Concat(_trickling))
            {
                socket.Dispose();
            }

            await Task.WhenAll(_watchers).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
            _stop.Dispose();
        }

        private async Task ConnectAsync(int port, int count, List<Socket> into)
        {
            var sockets = new Socket?[count];
            var next = -1;
            var first = into == _trickling ? _head.AsMemory(0, 1) : Memory<byte>.Empty;
            var workers = Enumerable.Range(0, ConnectConcurrency).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    try
                    {
                        using var timeout = new CancellationTokenSource(ConnectTimeout);
                        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
                        if (!first.IsEmpty)
                        {
                            await socket.SendAsync(first, SocketFlags.None, timeout.Token);
                        }

                        sockets[i] = socket;
                    }
                    catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                    {
                        socket.Dispose();
                    }
                }
            });
            await Task.WhenAll(workers);
            foreach (var socket in sockets)
            {
                if (socket is null)
                {
                    ConnectErrors++;
                }
                else
                {
                    into.Add(socket);
                }
            }
        }

        /// <summary>One byte more on every trickling connection each second; never the whole head.</summary>
        private async Task TrickleAsync()
        {
            // Byte 0 went with the connect; the head's last bytes are never sent.
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            for (var index = 1; index < _head.Length - 4; index++)
            {
                try
                {
                    if (!await timer.WaitForNextTickAsync(_stop.Token))
                    {
                        return;
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var one = _head.AsMemory(index, 1);
                foreach (var socket in _trickling)
                {
                    try
                    {
                        // A one-byte send to a connection with an empty buffer never waits.
                        if (socket.Send(one.Span, SocketFlags.None, out var error) == 1 && error == SocketError.Success)
                        {
                            Interlocked.Increment(ref _bytesTrickled);
                        }
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }
                }
            }
        }

        private async Task WatchAsync(Socket socket)
        {
            var sink = new byte[1];
            try
            {
                // The edge must not answer a head it has not got; anything that arrives ends the watch too.
                await socket.ReceiveAsync(sink, SocketFlags.None, _stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                if (ex is OperationCanceledException)
                {
                    return;
                }
            }

            Interlocked.Increment(ref _closedByEdge);
        }
    }
}
