using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Edge.Diagnostics;
using Edge.Testing;
using Edge.Tests.Functional;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Proxy.Direct;

/// <summary>
/// The direct proxy over real TCP: hand-written requests from a client socket, a real Kestrel
/// upstream (or a raw one where a misbehaving upstream is needed), and the edge's counters to
/// tell which path served a request.
/// </summary>
public sealed class DirectProxyTests
{
    private static Dictionary<string, string?> ProxyTo(Uri upstream, params (string Key, string? Value)[] more)
    {
        var settings = TestSettings.Default(more);
        settings["ReverseProxy:Routes:app:ClusterId"] = "app";
        settings["ReverseProxy:Routes:app:Match:Path"] = "{**catch-all}";
        settings["ReverseProxy:Clusters:app:Destinations:d1:Address"] = upstream.ToString();
        return settings;
    }

    private static string Get(EdgeTestHost edge, string target, string extraHeaders = "") =>
        $"GET {target} HTTP/1.1\r\nHost: {edge.BaseAddress.Authority}\r\n{extraHeaders}\r\n";

    private static EdgeMetrics Metrics(EdgeTestHost edge) => edge.Services.GetRequiredService<EdgeMetrics>();

    private static async Task<UpstreamTestServer> EchoUpstreamAsync() => await UpstreamTestServer.StartAsync(app =>
    {
        app.MapGet("/echo/{**rest}", (HttpContext c) => Results.Json(new
        {
            path = c.Request.Path.Value + c.Request.QueryString.Value,
            host = c.Request.Host.Value,
            connection = c.Connection.Id,
            forwardedFor = c.Request.Headers["X-Forwarded-For"].ToString(),
            forwardedProto = c.Request.Headers["X-Forwarded-Proto"].ToString(),
            forwardedHost = c.Request.Headers["X-Forwarded-Host"].ToString(),
            custom = c.Request.Headers["X-Custom"].ToString(),
            keepAliveHeader = c.Request.Headers["Keep-Alive"].ToString(),
            proxyConnection = c.Request.Headers["Proxy-Connection"].ToString(),
        }));
        app.MapPost("/echo/{**rest}", async (HttpContext c) => await c.Response.WriteAsync("posted:" + await new StreamReader(c.Request.Body).ReadToEndAsync()));
    });

    [Fact]
    public async Task KeepAliveGets_AreForwardedDirectly_OverOnePooledUpstreamConnection_WithYarpsForwardedHeaders()
    {
        await using var upstream = await EchoUpstreamAsync();
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        var connections = new HashSet<string>();
        for (var i = 0; i < 3; i++)
        {
            await client.SendAsync(Get(edge, $"/echo/a/{i}?q=x&y={i}", "X-Custom: kept\r\nX-Forwarded-For: 10.9.9.9\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\n"));
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            using var json = JsonDocument.Parse(response.Body);
            var root = json.RootElement;
            Assert.Equal($"/echo/a/{i}?q=x&y={i}", root.GetProperty("path").GetString());
            Assert.Equal(upstream.Address.Authority, root.GetProperty("host").GetString());
            Assert.Equal("127.0.0.1", root.GetProperty("forwardedFor").GetString());
            Assert.Equal("http", root.GetProperty("forwardedProto").GetString());
            Assert.Equal(edge.BaseAddress.Authority, root.GetProperty("forwardedHost").GetString());
            Assert.Equal("kept", root.GetProperty("custom").GetString());
            Assert.Equal(string.Empty, root.GetProperty("keepAliveHeader").GetString());
            Assert.Equal(string.Empty, root.GetProperty("proxyConnection").GetString());
            connections.Add(root.GetProperty("connection").GetString()!);
        }

        Assert.Equal(3, Metrics(edge).DirectProxyRequests);
        Assert.Single(connections);
    }

    [Fact]
    public async Task ARequestTheDirectPathDoesNotTake_GoesToKestrelUnread_AndTheConnectionStaysUsable()
    {
        await using var upstream = await EchoUpstreamAsync();
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync(Get(edge, "/echo/first"));
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        Assert.Equal(1, Metrics(edge).DirectProxyRequests);

        await client.SendAsync($"POST /echo/form HTTP/1.1\r\nHost: {edge.BaseAddress.Authority}\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
        var posted = await client.ReadResponseAsync();
        Assert.Equal(200, posted.Status);
        Assert.Equal("posted:hello", posted.Text);

        await client.SendAsync(Get(edge, "/echo/after"));
        var after = await client.ReadResponseAsync();
        Assert.Equal(200, after.Status);
        Assert.Contains("/echo/after", after.Text, StringComparison.Ordinal);
        Assert.Equal(1, Metrics(edge).DirectProxyRequests);
    }

    [Theory]
    [InlineData("/_edge/health")]
    [InlineData("/events?channels=a")]
    [InlineData("/echo/percent%20escaped")]
    public async Task PathsAnEdgeEndpointMayServe_OrThatNeedDecoding_AreLeftToKestrel(string target)
    {
        await using var upstream = await EchoUpstreamAsync();
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var http = edge.CreateClient();
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);
        await client.SendAsync(Get(edge, "/echo/warm"));
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);

        if (target.StartsWith("/events", StringComparison.Ordinal))
        {
            await client.SendAsync(Get(edge, target));
            var head = await client.ReadHeadOnlyAsync();
            Assert.Contains("text/event-stream", head, StringComparison.Ordinal);
        }
        else
        {
            await client.SendAsync(Get(edge, target));
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            if (target.StartsWith("/echo", StringComparison.Ordinal))
            {
                Assert.Contains("percent escaped", response.Text, StringComparison.Ordinal);
            }
        }

        Assert.Equal(1, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task RoutesWithTransforms_OrASecondMatchingRoute_AreYarps()
    {
        await using var upstream = await EchoUpstreamAsync();
        var settings = ProxyTo(upstream.Address);
        settings["ReverseProxy:Routes:app:Transforms:0:RequestHeader"] = "X-Custom";
        settings["ReverseProxy:Routes:app:Transforms:0:Set"] = "from-transform";
        await using var edge = await EdgeTestHost.StartAsync(settings);
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);
        await client.SendAsync(Get(edge, "/echo/t"));
        var response = await client.ReadResponseAsync();
        Assert.Contains("from-transform", response.Text, StringComparison.Ordinal);
        Assert.Equal(0, Metrics(edge).DirectProxyRequests);

        var two = ProxyTo(upstream.Address);
        two["ReverseProxy:Routes:api:ClusterId"] = "app";
        two["ReverseProxy:Routes:api:Match:Path"] = "/echo/{**rest}";
        await using var edge2 = await EdgeTestHost.StartAsync(two);
        using var client2 = await RawHttpConnection.ConnectAsync(edge2.BaseAddress.Port);
        await client2.SendAsync(Get(edge2, "/other"));
        Assert.Equal(404, (await client2.ReadResponseAsync()).Status);
        Assert.Equal(1, Metrics(edge2).DirectProxyRequests);

        // Both routes match this one: ASP.NET's routing decides, and the connection is Kestrel's from here on.
        await client2.SendAsync(Get(edge2, "/echo/two"));
        Assert.Equal(200, (await client2.ReadResponseAsync()).Status);
        Assert.Equal(1, Metrics(edge2).DirectProxyRequests);
    }

    [Fact]
    public async Task HeadRequests_AndChunkedStreamedResponses_KeepTheConnectionInStep()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamTestServer.StartAsync(app =>
        {
            app.MapGet("/chunked", async (HttpContext c) =>
            {
                c.Response.ContentType = "text/plain";
                await c.Response.WriteAsync("part-1;");
                await c.Response.Body.FlushAsync();
                await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
                await c.Response.WriteAsync("part-2;");
                await c.Response.Body.FlushAsync();
                await c.Response.WriteAsync("part-3");
            });
            app.MapMethods("/sized", ["GET", "HEAD"], () => Results.Text(new string('s', 1000)));
        });
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync($"HEAD /sized HTTP/1.1\r\nHost: {edge.BaseAddress.Authority}\r\n\r\n");
        var head = await client.ReadResponseAsync(head: true);
        Assert.Equal(200, head.Status);
        Assert.Equal("1000", head.Header("Content-Length"));

        await client.SendAsync(Get(edge, "/chunked"));
        var pending = client.ReadResponseAsync();
        await Task.Delay(200);
        Assert.False(pending.IsCompleted);
        release.SetResult();
        var chunked = await pending;
        Assert.Equal("chunked", chunked.Header("Transfer-Encoding"));
        Assert.Equal("part-1;part-2;part-3", chunked.Text);

        await client.SendAsync(Get(edge, "/sized"));
        Assert.Equal(1000, (await client.ReadResponseAsync()).Body.Length);
        Assert.Equal(3, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task ALargeBody_ToASlowReader_ArrivesWhole()
    {
        var payload = RandomNumberGenerator.GetBytes(6 * 1024 * 1024);
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/big", (HttpContext c) => Results.Bytes(payload, "application/octet-stream")));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port, receiveBuffer: 8 * 1024);

        await client.SendAsync(Get(edge, "/big"));
        var response = await client.ReadResponseAsync(pauseBetweenReads: TimeSpan.FromMilliseconds(1));
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(response.Body));
        Assert.Equal(1, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task AnUnreachableUpstream_IsAnswered502_AndCounted()
    {
        using var reserved = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        reserved.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var closedPort = ((IPEndPoint)reserved.LocalEndPoint!).Port;
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(new Uri($"http://127.0.0.1:{closedPort}/")));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync(Get(edge, "/anything"));
        var response = await client.ReadResponseAsync();
        Assert.Equal(502, response.Status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.ClosedByServerAsync());
        Assert.Equal(1, Metrics(edge).DirectProxyFailures);
    }

    [Fact]
    public async Task AnUpstreamSilentPastTheActivityTimeout_IsAnswered504()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/slow", async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            return Results.Text("late");
        }));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address, ("Edge:Proxy:ActivityTimeout", "00:00:01")));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync(Get(edge, "/slow"));
        Assert.Equal(504, (await client.ReadResponseAsync()).Status);
        Assert.Equal(1, Metrics(edge).DirectProxyFailures);
    }

    [Fact]
    public async Task AnUpstreamThatDropsAnIdleConnection_IsRetriedOnceOnAFreshOne()
    {
        // An upstream that answers one request per connection without saying it will close,
        // then drops the connection while the edge keeps it in its pool.
        await using var upstream = await RawUpstream.StartAsync(
            n => Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {$"answer-{n}".Length}\r\n\r\nanswer-{n}"),
            closeDelay: TimeSpan.FromMilliseconds(50));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);
        for (var i = 1; i <= 3; i++)
        {
            await client.SendAsync(Get(edge, "/r"));
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal($"answer-{i}", response.Text);
            await Task.Delay(200);
        }

        Assert.Equal(0, Metrics(edge).DirectProxyFailures);
        Assert.Equal(3, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task AHeadSentInPieces_IsForwardedOnceComplete()
    {
        await using var upstream = await EchoUpstreamAsync();
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync("GET /echo/pieces HTTP/1.1\r\nHo");
        await Task.Delay(100);
        await client.SendAsync($"st: {edge.BaseAddress.Authority}\r\nX-Custom: late\r\n");
        await Task.Delay(100);
        await client.SendAsync("\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Contains("late", response.Text, StringComparison.Ordinal);
        Assert.Equal(1, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task ADestinationNamedByHostName_IsLeftToYarp()
    {
        await using var upstream = await EchoUpstreamAsync();
        var byName = new UriBuilder(upstream.Address) { Host = "localhost" }.Uri;
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(byName));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync(Get(edge, "/echo/named"));
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Contains("/echo/named", response.Text, StringComparison.Ordinal);
        Assert.Equal(0, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task Shutdown_LetsARequestInFlightFinish_ThenClosesTheConnection()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/slow", async () =>
        {
            started.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            return Results.Text("finished");
        }));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var idle = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);
        await idle.SendAsync(Get(edge, "/slow"));
        await idle.ReadResponseAsync();
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);
        started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await client.SendAsync(Get(edge, "/slow"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var stopping = edge.StopAsync();
        Assert.True(await idle.ClosedByServerAsync());
        var response = await client.ReadResponseAsync();

        // The host's stop waits for the proxied request, as Kestrel waits for its own.
        Assert.False(stopping.IsCompleted);
        Assert.Equal(200, response.Status);
        Assert.Equal("finished", response.Text);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.ClosedByServerAsync());
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task PipelinedRequests_AreKestrels_AndAnsweredInOrder()
    {
        await using var upstream = await EchoUpstreamAsync();
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync(Get(edge, "/echo/p1") + Get(edge, "/echo/p2"));
        Assert.Contains("/echo/p1", (await client.ReadResponseAsync()).Text, StringComparison.Ordinal);
        Assert.Contains("/echo/p2", (await client.ReadResponseAsync()).Text, StringComparison.Ordinal);
        Assert.Equal(0, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task ACloseDelimitedResponse_WrittenAndClosedAtOnce_EndsWhenTheUpstreamCloses()
    {
        // The body and the upstream's FIN often arrive together, reported by one edge-triggered
        // event; a few rounds make sure that case comes up.
        await using var upstream = await RawUpstream.StartAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-close body"u8.ToArray());
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        for (var i = 0; i < 10; i++)
        {
            using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);
            await client.SendAsync(Get(edge, "/close-delimited"));
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal("close", response.Header("Connection"));
            Assert.Equal("until-close body", response.Text);
        }

        Assert.Equal(10, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task InterimHeads_AreNotPassedOn_AndAnHttp10Answer_ReachesTheClientAsHttp11()
    {
        await using var upstream = await RawUpstream.StartAsync("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"u8.ToArray());
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync(Get(edge, "/hints"));
        var response = await client.ReadResponseAsync();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response.Head, StringComparison.Ordinal);
        Assert.DoesNotContain("Link:", response.Head, StringComparison.Ordinal);
        Assert.Equal("hello", response.Text);
        Assert.Equal(1, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task AnAnswerlessUpstreamClose_IsAnswered502_WithoutWaitingForTheActivityTimeout()
    {
        await using var upstream = await RawUpstream.StartAsync("HTTP/1.1 200 OK\r\nContent-Le"u8.ToArray());
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        for (var i = 0; i < 10; i++)
        {
            using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);
            await client.SendAsync(Get(edge, "/cut-head"));
            Assert.Equal(502, (await client.ReadResponseAsync()).Status);
        }

        Assert.Equal(10, Metrics(edge).DirectProxyFailures);
    }

    [Fact]
    public async Task AClientThatGoesAwayMidResponse_ReleasesTheUpstreamRequest_AsKestrelAndYarpDo()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/quiet", async (HttpContext c) =>
        {
            c.Response.ContentType = "text/event-stream";
            await c.Response.WriteAsync("data: start\n\n");
            await c.Response.Body.FlushAsync();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                aborted.TrySetResult();
            }
        }));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using (var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port))
        {
            await client.SendAsync(Get(edge, "/quiet"));
            Assert.Contains("text/event-stream", await client.ReadHeadOnlyAsync(), StringComparison.Ordinal);
        }

        await aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, Metrics(edge).DirectProxyRequests);
    }

    [Fact]
    public async Task AResponseHeadOf24KB_IsForwarded_AsYarpForwardsHeadsUpTo64KB()
    {
        var big = new string('v', 24 * 1024);
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/big-head", (HttpContext c) =>
        {
            c.Response.Headers["X-Big"] = big;
            return "small body";
        }));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync(Get(edge, "/big-head"));
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal(big, response.Header("X-Big"));
        Assert.Equal("small body", response.Text);
        Assert.Equal(1, Metrics(edge).DirectProxyRequests);
        Assert.Equal(0, Metrics(edge).DirectProxyFailures);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HeadersYarpDropsOrReplaces_AreDroppedOrReplaced_InBothDirections(bool direct)
    {
        string[] dropped = ["Proxy-Authorization", "Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Features", "Proxy-Instruction", "Security-Scheme", "ALPN", "Close", "Alt-Svc", "Upgrade-Insecure-Requests"];
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/headers", (HttpContext c) =>
        {
            foreach (var name in dropped)
            {
                c.Response.Headers[name] = "from-upstream";
            }

            c.Response.Headers["X-Kept"] = "from-upstream";
            return string.Join("\n", c.Request.Headers.Select(h => h.Key + ": " + h.Value.ToString()));
        }));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address, ("Edge:Proxy:Direct", direct ? "true" : "false")));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        var extra = string.Concat(dropped.Select(name => name + ": from-client\r\n")) + "Forwarded: for=10.9.9.9\r\nX-Kept: from-client\r\n";
        await client.SendAsync(Get(edge, "/headers", extra));
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        var seen = response.Text.Split('\n').Select(line => line[..line.IndexOf(':', StringComparison.Ordinal)]).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.Contains("X-Kept", seen);
        Assert.Empty(seen.Intersect([.. dropped, "Forwarded"], StringComparer.OrdinalIgnoreCase));
        Assert.Equal("from-upstream", response.Header("X-Kept"));
        Assert.Empty(response.Headers.Select(h => h.Key).Intersect(dropped, StringComparer.OrdinalIgnoreCase));
        Assert.Equal(direct ? 1 : 0, Metrics(edge).DirectProxyRequests);
    }

    [Theory]
    [InlineData("/echo/a{b}?q=x|y", "/echo/a%7Bb%7D?q=x%7Cy")]
    [InlineData("/echo/a[1]?q=[2]^", "/echo/a%5B1%5D?q=[2]%5E")]
    [InlineData("/echo/a?q=\"<x>`", "/echo/a?q=%22%3Cx%3E%60")]
    public async Task ATargetYarpWouldEscape_ReachesTheUpstreamEscaped(string target, string upstreamTarget)
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/echo/{**rest}", (HttpContext c) => c.Features.Get<IHttpRequestFeature>()!.RawTarget));
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port);

        await client.SendAsync(Get(edge, target));
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal(upstreamTarget, response.Text);
    }

    [Fact]
    public async Task ConnectionClose_FromTheClient_IsHonoured_AndDirectOffForwardsThroughYarp()
    {
        await using var upstream = await EchoUpstreamAsync();
        await using var edge = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address));
        using (var client = await RawHttpConnection.ConnectAsync(edge.BaseAddress.Port))
        {
            await client.SendAsync(Get(edge, "/echo/bye", "Connection: close\r\n"));
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal("close", response.Header("Connection"));
            Assert.True(await client.ClosedByServerAsync());
            Assert.Equal(1, Metrics(edge).DirectProxyRequests);
        }

        await using var off = await EdgeTestHost.StartAsync(ProxyTo(upstream.Address, ("Edge:Proxy:Direct", "false")));
        using var viaYarp = await RawHttpConnection.ConnectAsync(off.BaseAddress.Port);
        await viaYarp.SendAsync(Get(off, "/echo/yarp"));
        Assert.Contains("/echo/yarp", (await viaYarp.ReadResponseAsync()).Text, StringComparison.Ordinal);
        Assert.Equal(0, Metrics(off).DirectProxyRequests);
    }
}

/// <summary>An upstream that answers every connection with fixed bytes, written at once, and closes it.</summary>
internal sealed class RawUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    private RawUpstream(TcpListener listener, Func<int, byte[]> answer, TimeSpan closeDelay)
    {
        _listener = listener;
        _serving = ServeAsync(answer, closeDelay);
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    public static Task<RawUpstream> StartAsync(byte[] answer) => StartAsync(_ => answer);

    /// <summary>Answers the n-th connection (from 1) with <paramref name="answer"/>(n), then closes it after <paramref name="closeDelay"/>.</summary>
    public static Task<RawUpstream> StartAsync(Func<int, byte[]> answer, TimeSpan closeDelay = default)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return Task.FromResult(new RawUpstream(listener, answer, closeDelay));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _serving.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task ServeAsync(Func<int, byte[]> answer, TimeSpan closeDelay)
    {
        var accepted = 0;
        while (!_stop.IsCancellationRequested)
        {
            using var socket = await _listener.AcceptSocketAsync(_stop.Token);
            accepted++;
            var buffer = new byte[8192];
            var read = 0;
            while (buffer.AsSpan(0, read).IndexOf("\r\n\r\n"u8) < 0)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(read), _stop.Token);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            await socket.SendAsync(answer(accepted), _stop.Token);
            if (closeDelay > TimeSpan.Zero)
            {
                await Task.Delay(closeDelay, _stop.Token);
            }

            socket.Shutdown(SocketShutdown.Both);
        }
    }
}
