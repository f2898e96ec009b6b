using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Edge.Connections;
using Edge.Transports;
using Edge.Transports.Compliance;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Edge.Tests.Connections;

/// <summary>
/// A real Kestrel on 127.0.0.1 whose one endpoint hands each request's
/// <see cref="PipeWriterTransport"/> (over the response's BodyWriter, the response started) to
/// the test, and keeps the request open until the test ends it. Each test's client is its own
/// HttpClient on its own connection.
/// </summary>
public sealed class KestrelTransportServer : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Session> _sessions = new();
    private WebApplication? _app;
    private Uri? _baseAddress;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);

            // A stalled client is the point of some tests: Kestrel must not close it for reading slowly.
            kestrel.Limits.MinResponseDataRate = null;
        });
        var app = builder.Build();
        app.MapGet("/transport/{id}", async (HttpContext context, string id) =>
        {
            var session = _sessions[id];
            context.Response.ContentType = "text/event-stream";
            await context.Response.StartAsync();

            // Kestrel keeps the head until the first flush; the client sees the response before any body byte.
            await context.Response.BodyWriter.FlushAsync();
            session.Opened.TrySetResult(new PipeWriterTransport(context.Response.BodyWriter));
            await session.Ended.Task;
        });
        await app.StartAsync();
        _app = app;
        _baseAddress = new Uri(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async Task DisposeAsync()
    {
        if (_app is { } app)
        {
            foreach (var session in _sessions.Values)
            {
                session.Ended.TrySetResult();
            }

            using var cts = new CancellationTokenSource(Wait);
            await app.StopAsync(cts.Token);
            await app.DisposeAsync();
        }
    }

    public async Task<TransportUnderTest> OpenAsync(CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var session = new Session();
        _sessions[id] = session;
        var client = new KestrelClient(session, () => _sessions.TryRemove(id, out _));
        try
        {
            await client.StartAsync(new Uri(_baseAddress!, "/transport/" + id), cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    private sealed class Session
    {
        public TaskCompletionSource<PipeWriterTransport> Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>HttpClient on a connection of its own, with a small receive buffer so a stalled client fills quickly; the body it reads is dechunked.</summary>
    private sealed class KestrelClient : TransportUnderTest
    {
        private readonly Session _session;
        private readonly Action _forget;
        private readonly HttpClient _http;
        private Socket? _socket;
        private HttpResponseMessage? _response;
        private Stream? _body;
        private PipeWriterTransport? _transport;

        public KestrelClient(Session session, Action forget)
        {
            _session = session;
            _forget = forget;
            _http = new HttpClient(new SocketsHttpHandler
            {
                ConnectCallback = ConnectAsync,
                MaxResponseDrainSize = 0,
                PooledConnectionLifetime = TimeSpan.Zero,
            })
            {
                Timeout = Timeout.InfiniteTimeSpan,
            };
        }

        public override IConnectionTransport Transport => _transport ?? throw new InvalidOperationException("Not open.");

        public async Task StartAsync(Uri address, CancellationToken cancellationToken)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, address) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            var responding = _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await Task.WhenAny(_session.Opened.Task, responding).WaitAsync(Wait, cancellationToken);
            if (!_session.Opened.Task.IsCompleted)
            {
                using var early = await responding;
                Assert.Fail($"the endpoint answered {(int)early.StatusCode} without opening a transport");
            }

            _transport = await _session.Opened.Task;
            _response = await responding.WaitAsync(Wait, cancellationToken);
            Assert.Equal(HttpStatusCode.OK, _response.StatusCode);
            Assert.True(_response.Headers.TransferEncodingChunked, "Kestrel's path is meant to be tested with chunked framing");
            _body = await _response.Content.ReadAsStreamAsync(cancellationToken);
        }

        public override ValueTask<int> ReadBodyAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            (_body ?? throw new InvalidOperationException("Not open.")).ReadAsync(buffer, cancellationToken);

        public override Task DisconnectAsync(bool abortive)
        {
            if (_socket is { } socket)
            {
                try
                {
                    if (abortive)
                    {
                        socket.LingerState = new LingerOption(true, 0);
                    }
                }
                catch (ObjectDisposedException)
                {
                    // HttpClient closed it already.
                }

                socket.Dispose();
            }

            _response?.Dispose();
            return Task.CompletedTask;
        }

        public override Task EndResponseAsync()
        {
            _session.Ended.TrySetResult();
            return Task.CompletedTask;
        }

        public override async ValueTask DisposeAsync()
        {
            await DisconnectAsync(abortive: true);
            await EndResponseAsync();
            _http.Dispose();
            _forget();
        }

        private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            {
                NoDelay = true,
                ReceiveBufferSize = 32 * 1024,
            };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            _socket = socket;
            return new NetworkStream(socket, ownsSocket: true);
        }
    }
}
