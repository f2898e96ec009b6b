using System.Net;
using System.Net.Sockets;
using System.Text;
using Edge.Transports.Compliance;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace Edge.Transports.Sockets.Tests.Streams;

/// <summary>
/// The transport compliance suite on <see cref="SocketStreamTransport"/>, built as production
/// builds it: a real loopback connection whose server side <see cref="DirectStreamServer"/>
/// serves (head classified, transport handed to the endpoint, flushed and closed at the end), and
/// a raw socket as the client, which skips the response head and reads the body up to the close.
/// </summary>
public sealed class SocketStreamTransportComplianceTests : TransportComplianceTests, IDisposable
{
    private readonly ClientDepartureWatcher _departures = new(NullLogger<ClientDepartureWatcher>.Instance);

    public void Dispose() => _departures.Dispose();

    protected override async Task<TransportUnderTest> OpenAsync(CancellationToken cancellationToken)
    {
        var endpoint = new HandingEndpoint();
        var server = new DirectStreamServer(
            endpoint,
            new HeadClassifier(endpoint, Options.Create(new KestrelServerOptions()), TimeProvider.System),
            _departures,
            new ServiceCollection().BuildServiceProvider(),
            TimeProvider.System,
            NullLogger<DirectStreamServer>.Instance);

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveBufferSize = 32 * 1024,
        };
        var connection = new RawClient(client, endpoint);
        try
        {
            var accepting = listener.AcceptAsync(cancellationToken).AsTask();
            await client.ConnectAsync(listener.LocalEndPoint!, cancellationToken);

            // The whole head is there before the server looks, so it is never handed on to Kestrel.
            await client.SendAsync(Encoding.ASCII.GetBytes("GET /stream HTTP/1.1\r\nHost: edge\r\nAccept: text/event-stream\r\n\r\n"), SocketFlags.None, cancellationToken);
            var accepted = await accepting.WaitAsync(Wait, cancellationToken);
            accepted.NoDelay = true;
            connection.Serving = Task.Run(() => server.TryServeAsync(accepted, CancellationToken.None), CancellationToken.None);
            connection.Open(await endpoint.Opened.Task.WaitAsync(Wait, cancellationToken));
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Serves one stream path; hands each opened stream's transport to the test and serves it until the test ends it.</summary>
    private sealed class HandingEndpoint : IDirectStreamEndpoint, IOpenedStream
    {
        public TaskCompletionSource<IConnectionTransport> Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool HasStreams => true;

        public object? Match(string path) => path == "/stream" ? this : null;

        public Task<IOpenedStream?> OpenAsync(HttpContext context, object stream)
        {
            context.Response.ContentType = "text/event-stream";
            Opened.TrySetResult(context.Features.Get<IConnectionTransport>() ?? throw new InvalidOperationException("No transport on a direct stream."));
            return Task.FromResult<IOpenedStream?>(this);
        }

        public Task ServeAsync() => Ended.Task;
    }

    /// <summary>The client: a raw socket that skips the response head and reads the body, which ends with the connection.</summary>
    private sealed class RawClient(Socket socket, HandingEndpoint endpoint) : TransportUnderTest
    {
        private byte[]? _early;
        private int _earlyStart;
        private int _earlyEnd;
        private bool _headRead;
        private IConnectionTransport? _transport;

        public Task<bool>? Serving { get; set; }

        public override IConnectionTransport Transport => _transport ?? throw new InvalidOperationException("Not open.");

        public void Open(IConnectionTransport transport) => _transport = transport;

        public override async ValueTask<int> ReadBodyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            if (!_headRead)
            {
                await ReadHeadAsync(cancellationToken);
            }

            if (_early is { } early && _earlyStart < _earlyEnd)
            {
                var n = Math.Min(buffer.Length, _earlyEnd - _earlyStart);
                early.AsMemory(_earlyStart, n).CopyTo(buffer);
                _earlyStart += n;
                return n;
            }

            return await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        }

        public override Task DisconnectAsync(bool abortive)
        {
            if (abortive)
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                }
                catch (ObjectDisposedException)
                {
                }
            }

            socket.Dispose();
            return Task.CompletedTask;
        }

        public override async Task EndResponseAsync()
        {
            endpoint.Ended.TrySetResult();
            if (Serving is { } serving)
            {
                Assert.True(await serving.WaitAsync(Wait), "the server handed the connection on to Kestrel");
            }
        }

        public override async ValueTask DisposeAsync()
        {
            await DisconnectAsync(abortive: true);
            await EndResponseAsync();
        }

        /// <summary>Reads up to the end of the response head; keeps what came after it for the body.</summary>
        private async Task ReadHeadAsync(CancellationToken cancellationToken)
        {
            var received = new byte[8192];
            var length = 0;
            while (true)
            {
                var end = received.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
                if (end >= 0)
                {
                    var head = Encoding.ASCII.GetString(received, 0, end);
                    Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
                    Assert.Contains("\r\nConnection: close", head, StringComparison.Ordinal);
                    _early = received;
                    _earlyStart = end + 4;
                    _earlyEnd = length;
                    _headRead = true;
                    return;
                }

                Assert.True(length < received.Length, "the response head is longer than 8 KB");
                var n = await socket.ReceiveAsync(received.AsMemory(length), SocketFlags.None, cancellationToken);
                Assert.True(n > 0, "the connection closed before the response head was complete");
                length += n;
            }
        }
    }
}
