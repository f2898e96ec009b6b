using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Edge.Transports.Sockets.Tests.Differential;

/// <summary>The differential suite's own readers, against hand-made responses: a reader that misreads would make two different answers look alike.</summary>
[Trait("Category", "Differential")]
public sealed class DifferentialReaderTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task ChunkedBody_WithExtensionsAndTrailers_IsDecoded_AndTheNextResponseFollows()
    {
        var (head, body, next) = await ServeAsync(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Trailer: t\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\n\r\n");
        Assert.Equal(BodyFraming.Chunked, head.Framing);
        Assert.Equal("hello, chunked!", body);
        Assert.Equal(204, next);
    }

    [Fact]
    public async Task ContentLengthBody_IsReadExactly_AndTheNextResponseFollows()
    {
        var (head, body, next) = await ServeAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nbodyHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(BodyFraming.ContentLength, head.Framing);
        Assert.Equal("body", body);
        Assert.Equal(200, next);
    }

    [Fact]
    public async Task CloseDelimitedBody_RunsToTheEndOfTheConnection()
    {
        var (head, body, next) = await ServeAsync("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/event-stream\r\n\r\n:ok\n\ndata: x\n\n");
        Assert.Equal(BodyFraming.Close, head.Framing);
        Assert.True(head.IsEventStream);
        Assert.Equal(":ok\n\ndata: x\n\n", body);
        Assert.Null(next);
    }

    [Fact]
    public async Task ResponseToHead_HasNoBody_WhateverItsContentLength()
    {
        var (head, body, next) = await ServeAsync("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", method: "HEAD");
        Assert.Equal(BodyFraming.None, head.Framing);
        Assert.Equal(string.Empty, body);
        Assert.Equal(200, next);
    }

    [Fact]
    public void SseFrames_AreTheSame_HoweverTheBytesAreSplit_AndWhateverTheLineEndings()
    {
        var text = "\uFEFF:ok\r\nretry: 2500\r\rid: e-1\nevent: greet\r\ndata:caf\u00e9\r\ndata:  two spaces\n\nid\n\n";
        var bytes = Encoding.UTF8.GetBytes(text);
        var whole = new SseFrameReader();
        whole.Feed(bytes);
        Assert.Equal([":ok\nretry: 2500", "id: e-1\nevent: greet\ndata: caf\u00e9\ndata:  two spaces", "id: "], whole.Frames);

        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var split = new SseFrameReader();
            split.Feed(bytes.AsSpan(0, cut));
            split.Feed(bytes.AsSpan(cut));
            Assert.Equal(whole.Frames, split.Frames);
        }
    }

    [Fact]
    public void SseFrames_WithDifferentDataOrIds_Differ()
    {
        static IReadOnlyList<string> Read(string text)
        {
            var reader = new SseFrameReader();
            reader.Feed(Encoding.UTF8.GetBytes(text));
            return reader.Frames;
        }

        Assert.NotEqual(Read("id: 1\ndata: a\n\n"), Read("id: 2\ndata: a\n\n"));
        Assert.NotEqual(Read("data: a\ndata: b\n\n"), Read("data: a\n\ndata: b\n\n"));
        Assert.NotEqual(Read(":ok\n\n"), Read(":ok \n\n"));
        Assert.Equal(Read("data: a\n\n"), Read("data:a\r\n\r\n"));
    }

    /// <summary>A loopback server that writes <paramref name="response"/> and closes; returns the first response, its body and the next status (null when none).</summary>
    private static async Task<(RawResponseHead Head, string Body, int? Next)> ServeAsync(string response, string method = "GET")
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var timeout = new CancellationTokenSource(Wait);
        var serving = Task.Run(
            async () =>
            {
                using var server = await listener.AcceptTcpClientAsync(timeout.Token);
                var stream = server.GetStream();

                // In small pieces, so the reader must join them.
                var bytes = Encoding.UTF8.GetBytes(response);
                for (var i = 0; i < bytes.Length; i += 7)
                {
                    await stream.WriteAsync(bytes.AsMemory(i, Math.Min(7, bytes.Length - i)), timeout.Token);
                    await stream.FlushAsync(timeout.Token);
                }

                server.Client.Shutdown(SocketShutdown.Send);
                await Task.Delay(200, timeout.Token);
            },
            timeout.Token);

        using var client = await RawHttpConnection.ConnectAsync(port, timeout.Token);
        var head = await client.ReadHeadAsync(method, timeout.Token);
        var body = Encoding.UTF8.GetString(await client.ReadBodyToEndAsync(timeout.Token));
        int? next = null;
        try
        {
            next = (await client.ReadHeadAsync("GET", timeout.Token)).Status;
        }
        catch (IOException) when (client.Closed)
        {
        }

        await serving.WaitAsync(Wait);
        return (head, body, next);
    }
}
