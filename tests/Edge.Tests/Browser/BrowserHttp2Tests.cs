using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Edge.Brokers;
using Edge.Brokers.InMemory;
using Edge.Hub;
using Edge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace Edge.Tests.Browser;

/// <summary>
/// What HTTP/2 buys a browser: one page in headless Chromium opens twenty native EventSources to
/// the edge over HTTPS. With HTTP/2 every one of them is open at once on one connection, receives
/// exactly its events and resumes by itself after an edge restart; over HTTP/1.1 only six are open
/// (Chromium's per-host connection limit) and the other fourteen wait in CONNECTING.
/// The certificate is made by the test.
/// </summary>
[Trait("Category", "Browser")]
public sealed class BrowserHttp2Tests(ITestOutputHelper output)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private const int Streams = 20;

    /// <summary>Chromium's limit of HTTP/1.1 connections per host (and port).</summary>
    private const int Http11ConnectionsPerHost = 6;

    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(45);

    /// <summary>
    /// The edge starts draining (closing streams with this retry hint) before Kestrel stops
    /// listening, and answers a stream request that arrives meanwhile with 503, after which a
    /// native EventSource never reconnects. The hint is long enough that the reconnects come
    /// after the stopping edge is gone (it takes about 0.1 s here) even on a busy machine.
    /// </summary>
    private const string RetryHintMilliseconds = "2000";

    // ?prefix=p&count=n opens EventSources on channels p-0 .. p-(n-1); window.snapshot() reports them.
    private const string Page = """
        <!doctype html><html><body><script>
        const query = new URLSearchParams(location.search);
        window.streams = [];
        for (let i = 0; i < Number(query.get('count')); i++) {
          const s = { channel: query.get('prefix') + '-' + i, opens: 0, errors: 0, received: [] };
          s.source = new EventSource('/events?channels=' + s.channel);
          s.source.onopen = () => s.opens++;
          s.source.onerror = () => s.errors++;
          s.source.onmessage = e => s.received.push({ data: e.data, id: e.lastEventId });
          window.streams.push(s);
        }
        window.snapshot = () => ({
          page: performance.getEntriesByType('navigation')[0].nextHopProtocol,
          streams: window.streams.map(s => ({ channel: s.channel, readyState: s.source.readyState,
                                              opens: s.opens, errors: s.errors, received: s.received })),
        });
        </script></body></html>
        """;

    [Fact]
    public async Task Http2_TwentyEventSourcesOnOnePage_AllReceiveExactlyTheirEvents_AndResumeByThemselvesAfterAnEdgeRestart()
    {
        using var certificate = TestCertificate.Create();
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/many.html", () => Results.Content(Page, "text/html")));
        var port = FreePort();
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        var settings = EdgeSettings(port, certificate, upstream, http2: true);
        var firstRequests = new StreamRequests();
        var secondRequests = new StreamRequests();
        var channels = Enumerable.Range(0, Streams).Select(i => $"h2-{i}").ToArray();

        var first = await StartEdgeAsync(settings, log, firstRequests);
        Step("first edge started");
        EdgeTestHost? second = null;
        ManyStreamsPage? page = null;
        try
        {
            page = await ManyStreamsPage.OpenAsync($"https://127.0.0.1:{port}/many.html?prefix=h2&count={Streams}");
            Step("page loaded");
            await page.WaitUntilAsync("all 20 streams open on the first edge", s =>
                first.Services.GetRequiredService<EventHub>().ConnectionCount == Streams && s.Streams.All(x => x.ReadyState == 1));
            Step("20 streams open");

            await PublishAsync(first, certificate, channels, 1, 2, 3);
            await page.WaitUntilAsync("events 1-3 on every stream", s => s.Streams.All(x => x.Received.Count >= 3));
            Step("events 1-3 received");

            // The cut: the edge drains (each stream gets a retry hint and is closed) and is gone
            // while events 4 and 5 are published; a new edge on the same port serves the reconnects.
            await first.DisposeAsync();
            Step("first edge stopped");
            await new InMemoryBroker(log).PublishAsync(
                channels.SelectMany(c => new[] { 4, 5 }.Select(n => new BrokerMessage(c, $"{c}-m{n}", Envelope(c, n)))).ToList(),
                CancellationToken.None).WaitAsync(WaitLimit);
            second = await StartEdgeAsync(settings, log, secondRequests);
            Step("second edge started, events 4-5 published while away");
            await page.WaitUntilAsync("all 20 streams back on the second edge", s =>
                second.Services.GetRequiredService<EventHub>().ConnectionCount == Streams && s.Streams.All(x => x.ReadyState == 1 && x.Opens == 2));
            Step("20 streams resumed");

            await PublishAsync(second, certificate, channels, 6);
            await page.WaitUntilAsync("events 1-6 on every stream", s => s.Streams.All(x => x.Received.Count >= 6));
            Step("events 1-6 received");
            await Task.Delay(500); // a duplicate or a stray event would arrive now
            var end = await page.SnapshotAsync();
            var diagnostics = page.Describe(end) + "\nrequests to the first edge:\n" + firstRequests + "\nrequests to the second edge:\n" + secondRequests;

            Assert.True(end.PageProtocol == "h2", $"the page came over {end.PageProtocol}\n{diagnostics}");
            foreach (var stream in end.Streams)
            {
                Assert.True(
                    Enumerable.Range(1, 6).Select(n => $"{stream.Channel}:{n}").SequenceEqual(stream.Received.Select(r => r.Data)),
                    $"{stream.Channel} received [{string.Join(", ", stream.Received.Select(r => r.Data))}]\n{diagnostics}");
                Assert.True(stream.Received.Select(r => r.Id).Distinct().Count() == 6, $"{stream.Channel}: ids not distinct\n{diagnostics}");
                Assert.True(stream.Opens == 2, $"{stream.Channel} opened {stream.Opens} times\n{diagnostics}");
            }

            // Server side: every stream request was HTTP/2, the twenty of each edge shared one
            // connection, and each reconnect carried the id of the last event its stream had seen.
            var before = firstRequests.ToList();
            var after = secondRequests.ToList();
            Assert.True(before.Count == Streams && after.Count == Streams, diagnostics);
            Assert.True(before.Concat(after).All(r => r.Protocol == "HTTP/2" && r.Status == 200), diagnostics);
            Assert.True(before.Select(r => r.ConnectionId).Distinct().Count() == 1, diagnostics);
            Assert.True(after.Select(r => r.ConnectionId).Distinct().Count() == 1, diagnostics);
            Assert.True(before.All(r => r.LastEventId is null), diagnostics);
            var lastSeen = end.Streams.ToDictionary(s => s.Channel, s => s.Received[2].Id);
            Assert.True(after.All(r => r.LastEventId == lastSeen[r.Channel]), diagnostics);
            Assert.Equal(channels.Order(), after.Select(r => r.Channel).Order());
            Step("checked");
        }
        finally
        {
            // The browser goes first, so that no stream reconnects to an edge that is stopping.
            if (page is not null)
            {
                await page.DisposeAsync();
            }

            Step("browser closed");
            await first.DisposeAsync();
            if (second is not null)
            {
                await second.DisposeAsync();
            }

            Step("edges stopped");
        }
    }

    [Fact]
    public async Task Http11_TwentyEventSourcesOnOnePage_OnlySixOpen_AndTheOthersStallInConnecting()
    {
        using var certificate = TestCertificate.Create();
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/many.html", () => Results.Content(Page, "text/html")));
        var port = FreePort();
        var requests = new StreamRequests();
        var channels = Enumerable.Range(0, Streams).Select(i => $"h1-{i}").ToArray();

        await using var edge = await StartEdgeAsync(EdgeSettings(port, certificate, upstream, http2: false), new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System), requests);
        Step("edge started");
        var hub = edge.Services.GetRequiredService<EventHub>();
        await using var page = await ManyStreamsPage.OpenAsync($"https://127.0.0.1:{port}/many.html?prefix=h1&count={Streams}");
        Step("page loaded");

        await page.WaitUntilAsync("six streams open", s => hub.ConnectionCount == Http11ConnectionsPerHost && s.Streams.Count(x => x.ReadyState == 1) == Http11ConnectionsPerHost);
        Step("six streams open");

        // Not merely slow: for three seconds nothing more opens.
        var most = 0;
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(3);)
        {
            most = Math.Max(most, hub.ConnectionCount);
            await Task.Delay(100);
        }

        await PublishAsync(edge, certificate, channels, 1);
        await page.WaitUntilAsync("the six open streams got event 1", s => s.Streams.Count(x => x.Received.Count == 1) == Http11ConnectionsPerHost);
        Step("the six open streams got event 1");
        await Task.Delay(1000); // the others would receive it now if they could
        most = Math.Max(most, hub.ConnectionCount);
        var stalled = await page.SnapshotAsync();
        var diagnostics = $"most connections seen by the hub: {most}\n{page.Describe(stalled)}\nrequests:\n{requests}";

        Assert.True(stalled.PageProtocol == "http/1.1", $"the page came over {stalled.PageProtocol}\n{diagnostics}");
        Assert.True(most == Http11ConnectionsPerHost, diagnostics);
        var open = stalled.Streams.Where(s => s.ReadyState == 1).ToList();
        var waiting = stalled.Streams.Where(s => s.ReadyState == 0).ToList();
        Assert.True(open.Count == Http11ConnectionsPerHost && waiting.Count == Streams - Http11ConnectionsPerHost, diagnostics);
        Assert.True(open.All(s => s.Opens == 1 && s.Received.Select(r => r.Data).SequenceEqual([$"{s.Channel}:1"])), diagnostics);
        Assert.True(waiting.All(s => s.Opens == 0 && s.Received.Count == 0), diagnostics);
        var seen = requests.ToList();
        Assert.True(seen.Count == Http11ConnectionsPerHost && seen.All(r => r.Protocol == "HTTP/1.1" && r.Status == 200), diagnostics);
        Assert.True(seen.Select(r => r.ConnectionId).Distinct().Count() == Http11ConnectionsPerHost, diagnostics);
        Assert.Equal(open.Select(s => s.Channel).Order(), seen.Select(r => r.Channel).Order());

        // The limit is the browser's: closing one open stream frees its connection for exactly one
        // of the waiting ones, which then receives what is published next.
        var closed = open[0].Channel;
        await page.EvalAsync($"window.streams.find(s => s.channel === '{closed}').source.close(), true");
        await page.WaitUntilAsync("one waiting stream takes the freed connection", s =>
            hub.ConnectionCount == Http11ConnectionsPerHost && s.Streams.Count(x => x.ReadyState == 1) == Http11ConnectionsPerHost
            && s.Streams.Count(x => x.ReadyState == 0) == waiting.Count - 1);
        Step("one stream closed, one waiting stream took its connection");
        await PublishAsync(edge, certificate, channels, 2);
        await page.WaitUntilAsync("the open streams got event 2", s => s.Streams.Where(x => x.ReadyState == 1).All(x => x.Received.Any(r => r.Data.EndsWith(":2", StringComparison.Ordinal))));
        Step("event 2 received");
        var moved = await page.SnapshotAsync();
        var newcomer = moved.Streams.Single(s => s.ReadyState == 1 && waiting.Any(w => w.Channel == s.Channel));
        Assert.True(newcomer.Received.Select(r => r.Data).SequenceEqual([$"{newcomer.Channel}:2"]), page.Describe(moved));
        Assert.True(moved.Streams.Where(s => s.ReadyState == 0).All(s => s.Received.Count == 0), page.Describe(moved));
        Step("checked");
    }

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds,6:F1} s  {what}");

    /// <summary>
    /// HTTPS on 127.0.0.1:<paramref name="port"/> through the edge's own TLS section with the test's
    /// certificate (HTTP/2 offered by ALPN, or not), and a YARP route to the upstream that serves
    /// the page, so page and streams share the origin.
    /// </summary>
    private static Dictionary<string, string?> EdgeSettings(int port, TestCertificate certificate, UpstreamTestServer upstream, bool http2) =>
        TestSettings.Default(
            ("Edge:Urls", $"https://127.0.0.1:{port}"),
            ("Edge:Tls:Certificates:test:Path", certificate.CertificatePath),
            ("Edge:Tls:Certificates:test:KeyPath", certificate.KeyPath),
            ("Edge:Http2:Enabled", http2 ? "true" : "false"),
            ("Edge:Shutdown:RetryHintMilliseconds", RetryHintMilliseconds),
            ("ReverseProxy:Routes:app:ClusterId", "app"),
            ("ReverseProxy:Routes:app:Match:Path", "{**catch-all}"),
            ("ReverseProxy:Clusters:app:Destinations:d1:Address", upstream.Address.ToString()));

    private static Task<EdgeTestHost> StartEdgeAsync(Dictionary<string, string?> settings, InMemoryLog log, StreamRequests requests) =>
        EdgeTestHost.StartAsync(settings, configureServices: s =>
        {
            s.AddSingleton(log);
            s.AddSingleton<IStartupFilter>(requests);
        });

    private static byte[] Envelope(string channel, int n) =>
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { channel, data = $"{channel}:{n}" }));

    /// <summary>Publishes event n (data "channel:n") to every channel, over HTTPS, trusting only the test's certificate.</summary>
    private static async Task PublishAsync(EdgeTestHost edge, TestCertificate certificate, string[] channels, params int[] numbers)
    {
        var envelopes = numbers.SelectMany(n => channels.Select(c => Encoding.UTF8.GetString(Envelope(c, n))));
        using var client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == certificate.Certificate.GetCertHashString() },
        })
        {
            BaseAddress = edge.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "_edge/publish")
        {
            Content = new StringContent("[" + string.Join(',', envelopes) + "]", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestSettings.PublishKey);
        using var response = await client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"publish: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>A self-signed RSA 2048 certificate for localhost and 127.0.0.1, as PEM files in a temporary folder.</summary>
    private sealed class TestCertificate : IDisposable
    {
        private readonly string _folder;

        private TestCertificate(string folder, X509Certificate2 certificate)
        {
            _folder = folder;
            Certificate = certificate;
        }

        public X509Certificate2 Certificate { get; }

        public string CertificatePath => Path.Combine(_folder, "cert.pem");

        public string KeyPath => Path.Combine(_folder, "key.pem");

        public static TestCertificate Create()
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

            var folder = Directory.CreateTempSubdirectory("edge-browser-tls-").FullName;
            var created = new TestCertificate(folder, certificate);
            File.WriteAllText(created.CertificatePath, certificate.ExportCertificatePem());
            File.WriteAllText(created.KeyPath, key.ExportPkcs8PrivateKeyPem());
            return created;
        }

        public void Dispose()
        {
            Certificate.Dispose();
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>Records each stream request an edge receives: its protocol, connection and Last-Event-ID.</summary>
    private sealed class StreamRequests : IStartupFilter
    {
        private readonly ConcurrentQueue<StreamRequest> _requests = new();

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                if (context.Request.Path == "/events")
                {
                    var request = new StreamRequest(
                        context.Request.Query["channels"].ToString(),
                        context.Request.Protocol,
                        context.Connection.Id,
                        context.Request.Headers["Last-Event-ID"] is { Count: > 0 } id ? id.ToString() : null);
                    context.Response.OnStarting(() =>
                    {
                        request.Status = context.Response.StatusCode;
                        return Task.CompletedTask;
                    });
                    _requests.Enqueue(request);
                }

                return following(context);
            });
            next(app);
        };

        public List<StreamRequest> ToList() => [.. _requests];

        public override string ToString() => string.Join('\n', _requests.Select(r => $"  {r.Channel} {r.Protocol} connection {r.ConnectionId} Last-Event-ID {r.LastEventId ?? "-"} status {r.Status}"));
    }

    private sealed record StreamRequest(string Channel, string Protocol, string ConnectionId, string? LastEventId)
    {
        /// <summary>The status the edge answered (0 until the response starts).</summary>
        public int Status { get; set; }
    }

    private sealed record PageSnapshot(string PageProtocol, List<StreamSnapshot> Streams);

    private sealed record StreamSnapshot(string Channel, int ReadyState, int Opens, int Errors, List<(string Data, string Id)> Received);

    /// <summary>The many-streams page in Chromium (<see cref="BrowserPage"/>), read through its window.snapshot().</summary>
    private sealed class ManyStreamsPage(BrowserPage page) : IAsyncDisposable
    {
        private PageSnapshot? _last;

        public static async Task<ManyStreamsPage> OpenAsync(string url) => new(await BrowserPage.OpenAsync(url));

        public Task<JsonElement> EvalAsync(string expression) => page.EvalAsync(expression);

        public async Task<PageSnapshot> SnapshotAsync()
        {
            var value = await EvalAsync("window.snapshot()");
            var streams = value.GetProperty("streams").EnumerateArray().Select(s => new StreamSnapshot(
                s.GetProperty("channel").GetString()!,
                s.GetProperty("readyState").GetInt32(),
                s.GetProperty("opens").GetInt32(),
                s.GetProperty("errors").GetInt32(),
                s.GetProperty("received").EnumerateArray().Select(r => (r.GetProperty("data").GetString()!, r.GetProperty("id").GetString()!)).ToList())).ToList();
            _last = new PageSnapshot(value.GetProperty("page").GetString() ?? "", streams);
            return _last;
        }

        /// <summary>Polls the page (and whatever else <paramref name="condition"/> reads) until it holds, for at most <see cref="WaitLimit"/>.</summary>
        public async Task WaitUntilAsync(string what, Func<PageSnapshot, bool> condition)
        {
            var watch = Stopwatch.StartNew();
            while (true)
            {
                if (condition(await SnapshotAsync()))
                {
                    return;
                }

                if (watch.Elapsed > WaitLimit)
                {
                    Assert.Fail($"timed out after {WaitLimit.TotalSeconds} s waiting for: {what}\n{Describe(_last!)}");
                }

                await Task.Delay(100);
            }
        }

        /// <summary>Each stream's state and what it received, and what the script said.</summary>
        public string Describe(PageSnapshot snapshot)
        {
            var text = new StringBuilder($"page over {snapshot.PageProtocol}\n");
            foreach (var s in snapshot.Streams)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {s.Channel}: readyState {s.ReadyState}, opens {s.Opens}, errors {s.Errors}, received [{string.Join(", ", s.Received.Select(r => $"{r.Data}#{r.Id}"))}]\n");
            }

            return text.Append("browser said:\n").Append(page.Talk).ToString();
        }

        public ValueTask DisposeAsync() => page.DisposeAsync();
    }
}
