using System.Net;
using System.Net.Sockets;
using System.Text;
using Edge.Diagnostics;
using Edge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Transports.Sockets.Tests.Streams;

/// <summary>
/// Streams served straight off their socket (the first request of a plain HTTP/1.1 connection)
/// and the connections handed on to Kestrel, over real TCP with hand-written requests.
/// </summary>
public sealed class DirectStreamTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AStreamFirstOnItsConnection_IsServedDirectly_AndItsDepartureIsSeen()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        using (var client = await RawClient.ConnectAsync(edge, StreamRequest(edge, "/events?channels=d")))
        {
            var head = await client.ReadHeadAsync();
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
            Assert.Contains("\r\nConnection: close\r\n", head, StringComparison.Ordinal);
            Assert.Contains("\r\nContent-Type: text/event-stream\r\n", head, StringComparison.Ordinal);
            Assert.DoesNotContain("Transfer-Encoding", head, StringComparison.OrdinalIgnoreCase);

            using (await edge.PublishAsync("""{"channel":"d","data":"first"}"""))
            {
            }

            Assert.Equal(["first"], await client.ReadDataAsync(1));
            Assert.Equal(1, metrics.Connections);
        }

        await WaitUntilAsync(() => metrics.Connections == 0);
        Assert.Equal(0, metrics.Connections);
    }

    [Fact]
    public async Task WithDirectStreamsOff_KestrelServesTheStream()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:DirectStreams", "false")));
        using var client = await RawClient.ConnectAsync(edge, StreamRequest(edge, "/events?channels=d"));
        var head = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
        Assert.Contains("Transfer-Encoding: chunked", head, StringComparison.Ordinal);
        Assert.DoesNotContain("Connection: close", head, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStreamAfterAnotherRequestOnTheSameConnection_IsServedByKestrel()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var client = await RawClient.ConnectAsync(edge, $"GET /_edge/health HTTP/1.1\r\nHost: {edge.BaseAddress.Authority}\r\n\r\n");
        var health = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", health, StringComparison.Ordinal);
        if (health.Split("\r\n").SingleOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } contentLength)
        {
            await client.SkipAsync(int.Parse(contentLength[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            await client.ReadUntilAsync("\r\n0\r\n\r\n");
        }

        await client.SendAsync(StreamRequest(edge, "/events?channels=k"));
        var head = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
        Assert.Contains("Transfer-Encoding: chunked", head, StringComparison.Ordinal);
        using (await edge.PublishAsync("""{"channel":"k","data":"via-kestrel"}"""))
        {
        }

        Assert.Contains("data: via-kestrel\n", await client.ReadUntilAsync("via-kestrel"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(400)]
    public async Task AHeadSentInPieces_IsServed(int pauseMilliseconds)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var request = StreamRequest(edge, "/events?channels=p");
        using var client = await RawClient.ConnectAsync(edge, request[..10]);
        await Task.Delay(pauseMilliseconds);
        await client.SendAsync(request[10..30]);
        await Task.Delay(pauseMilliseconds);
        await client.SendAsync(request[30..]);

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadHeadAsync(), StringComparison.Ordinal);
        using (await edge.PublishAsync("""{"channel":"p","data":"pieces"}"""))
        {
        }

        Assert.Contains("data: pieces\n", await client.ReadUntilAsync("pieces"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BytesAfterTheHead_SendTheConnectionToKestrel()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var pipelined = StreamRequest(edge, "/events?channels=q") + $"GET /_edge/health HTTP/1.1\r\nHost: {edge.BaseAddress.Authority}\r\n\r\n";
        using var client = await RawClient.ConnectAsync(edge, pipelined);
        var head = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
        Assert.Contains("Transfer-Encoding: chunked", head, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AConnectionHandedToKestrel_HasNagleAsConfigured(bool noDelay)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(), configureServices: services =>
        {
            services.Configure<SocketTransportOptions>(o => o.NoDelay = noDelay);
            services.AddSingleton<IStartupFilter>(new NoDelayProbe());
        });
        using var client = await RawClient.ConnectAsync(edge, $"GET {NoDelayProbe.Path} HTTP/1.1\r\nHost: {edge.BaseAddress.Authority}\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadHeadAsync(), StringComparison.Ordinal);
        Assert.Contains($"nodelay={noDelay}", await client.ReadUntilAsync(";"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BytesSentDuringTheStream_AreDropped_AndTheStreamGoesOn()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        using var client = await RawClient.ConnectAsync(edge, StreamRequest(edge, "/events?channels=chatty"));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadHeadAsync(), StringComparison.Ordinal);

        // More than one read of the departure watcher takes.
        await client.SendAsync(new string('x', 10_000));
        using (await edge.PublishAsync("""{"channel":"chatty","data":"still here"}"""))
        {
        }

        Assert.Equal(["still here"], await client.ReadDataAsync(1));
        Assert.Equal(1, metrics.Connections);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AClientThatHalfClosesOrResets_IsSeenToLeave(bool reset)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        using var client = await RawClient.ConnectAsync(edge, StreamRequest(edge, "/events?channels=leaving"));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadHeadAsync(), StringComparison.Ordinal);
        Assert.Equal(1, metrics.Connections);

        client.Leave(reset);
        await WaitUntilAsync(() => metrics.Connections == 0);
        Assert.Equal(0, metrics.Connections);
    }

    [Fact]
    public async Task AClientThatHalfClosesRightAfterItsRequest_IsSeenToLeave()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var metrics = edge.Services.GetRequiredService<EdgeMetrics>();
        using var client = await RawClient.ConnectAsync(edge, StreamRequest(edge, "/events?channels=brief"));

        // Its FIN may arrive before the stream is watched; the stream must still end.
        client.Leave(reset: false);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadHeadAsync(), StringComparison.Ordinal);
        await WaitUntilAsync(() => metrics.Connections == 0 && metrics.ConnectionsOpened == 1);
        Assert.Equal(1, metrics.ConnectionsOpened);
        Assert.Equal(0, metrics.Connections);
    }

    [Fact]
    public async Task AClientThatReadsSlowly_GetsEveryLargeEventIntactAndInOrder()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Streams:events:QueueCapacity", "4096")));
        using var client = await RawClient.ConnectAsync(edge, StreamRequest(edge, "/events?channels=big"), receiveBuffer: 4096);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadHeadAsync(), StringComparison.Ordinal);

        // Far more than the socket buffers hold: most sends are partial and finish in the pump.
        const int count = 120;
        var payload = new string('z', 48 * 1024);
        for (var b = 0; b < count / 10; b++)
        {
            var batch = "[" + string.Join(',', Enumerable.Range(b * 10, 10).Select(i => $$"""{"channel":"big","data":"{{i}}:{{payload}}"}""")) + "]";
            using var response = await edge.PublishAsync(batch);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var data = await client.ReadDataAsync(count, slowly: true);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"{i}:{payload}"), data);
        Assert.Equal(0, edge.Services.GetRequiredService<EdgeMetrics>().SlowConsumers);
    }

    private static string StreamRequest(EdgeTestHost edge, string target) =>
        $"GET {target} HTTP/1.1\r\nHost: {edge.BaseAddress.Authority}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }

    /// <summary>A TCP client that writes raw request bytes and reads the response as text.</summary>
    private sealed class RawClient : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private readonly StringBuilder _pending = new();

        private RawClient(TcpClient tcp)
        {
            _tcp = tcp;
            _stream = tcp.GetStream();
        }

        public static async Task<RawClient> ConnectAsync(EdgeTestHost edge, string firstBytes, int? receiveBuffer = null)
        {
            var tcp = new TcpClient();
            if (receiveBuffer is { } size)
            {
                tcp.ReceiveBufferSize = size;
            }

            await tcp.ConnectAsync(IPAddress.Loopback, edge.BaseAddress.Port).WaitAsync(Wait);
            var client = new RawClient(tcp);
            await client.SendAsync(firstBytes);
            return client;
        }

        /// <summary>Sends a FIN (the client stops writing but could still read), or a reset.</summary>
        public void Leave(bool reset)
        {
            if (reset)
            {
                _tcp.Client.LingerState = new LingerOption(true, 0);
                _tcp.Client.Close();
            }
            else
            {
                _tcp.Client.Shutdown(SocketShutdown.Send);
            }
        }

        public async Task SendAsync(string text) => await _stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask().WaitAsync(Wait);

        public async Task<string> ReadHeadAsync()
        {
            var text = await ReadUntilAsync("\r\n\r\n");
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
            _pending.Insert(0, text[end..]);
            return text[..end];
        }

        public async Task SkipAsync(int count)
        {
            while (_pending.Length < count)
            {
                await FillAsync(false);
            }

            _pending.Remove(0, count);
        }

        /// <summary>Everything read until <paramref name="marker"/> has arrived.</summary>
        public async Task<string> ReadUntilAsync(string marker)
        {
            while (!_pending.ToString().Contains(marker, StringComparison.Ordinal))
            {
                await FillAsync(false);
            }

            var text = _pending.ToString();
            _pending.Clear();
            return text;
        }

        /// <summary>The data of the next <paramref name="count"/> events (comments and id-only frames skipped).</summary>
        public async Task<List<string>> ReadDataAsync(int count, bool slowly = false)
        {
            var data = new List<string>();
            while (data.Count < count)
            {
                var text = _pending.ToString();
                var end = text.IndexOf("\n\n", StringComparison.Ordinal);
                if (end < 0)
                {
                    await FillAsync(slowly);
                    continue;
                }

                _pending.Remove(0, end + 2);
                var lines = text[..end].Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l[6..]).ToList();
                if (lines.Count > 0)
                {
                    data.Add(string.Join('\n', lines));
                }
            }

            return data;
        }

        public void Dispose() => _tcp.Dispose();

        private async Task FillAsync(bool slowly)
        {
            var buffer = new byte[slowly ? 8192 : 65536];
            var read = await _stream.ReadAsync(buffer).AsTask().WaitAsync(Wait);
            if (read == 0)
            {
                throw new IOException("The edge closed the connection.");
            }

            _pending.Append(Encoding.UTF8.GetString(buffer, 0, read));
            if (slowly)
            {
                await Task.Delay(1);
            }
        }
    }

    /// <summary>Answers, for a request Kestrel serves, whether its connection's socket has Nagle's algorithm off.</summary>
    private sealed class NoDelayProbe : IStartupFilter
    {
        public const string Path = "/_test/nodelay";

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Path == Path)
                {
                    var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
                    await context.Response.WriteAsync($"nodelay={socket?.NoDelay};");
                    return;
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }
}
