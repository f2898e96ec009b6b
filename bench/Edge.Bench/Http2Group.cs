using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;

namespace Edge.Bench;

/// <summary>
/// Streams over HTTP/2 with .NET's own client: one <see cref="SocketsHttpHandler"/> per connection
/// (<c>EnableMultipleHttp2Connections = false</c>, so each handler holds exactly one TLS
/// connection), <see cref="GroupSettings.Http2StreamsPerConnection"/> GETs on it, HTTP/2 exactly,
/// each read from its response headers on. No framing of our own. Idle streams only: the body is
/// read and counted, not parsed (the hold mode needs no more). <c>--concurrency</c> connections are
/// opened at a time, each with all its streams at once.
/// </summary>
internal sealed class Http2Group : ISubscriberGroup
{
    private const int IpBindAddressNoPort = 24;

    private readonly GroupSettings _settings;
    private readonly GroupStats _stats = new();
    private readonly Connection[] _connections;
    private readonly CancellationTokenSource _closing = new();

    public Http2Group(GroupSettings settings)
    {
        _settings = settings;
        var perConnection = settings.Http2StreamsPerConnection;
        var count = (settings.Subscribers + perConnection - 1) / perConnection;
        _connections = new Connection[count];
        for (var c = 0; c < count; c++)
        {
            var first = c * perConnection;
            var streams = Math.Min(perConnection, settings.Subscribers - first);
            _connections[c] = new Connection(settings, settings.SourceOf(c), Enumerable.Range(first, streams).Select(settings.ChannelOf).ToArray());
        }
    }

    public Task ReadyAsync() => Task.CompletedTask;

    public async Task<Snapshot> ConnectAsync()
    {
        var sw = Stopwatch.StartNew();
        var next = -1;
        var ok = 0;
        var deadline = TimeSpan.FromSeconds(Math.Max(30, _settings.Subscribers * 0.01 + _settings.ConnectTimeout.TotalSeconds * (_settings.Retries + 1)));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        cts.CancelAfter(deadline);
        async Task Worker()
        {
            while (!cts.IsCancellationRequested)
            {
                var c = Interlocked.Increment(ref next);
                if (c >= _connections.Length)
                {
                    return;
                }

                Interlocked.Add(ref ok, await _connections[c].OpenAsync(_stats, _closing.Token, cts.Token).ConfigureAwait(false));
            }
        }

        var workers = Math.Min(Math.Max(1, _settings.Concurrency), Math.Max(1, _connections.Length));
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(Worker))).ConfigureAwait(false);
        var snap = Take();
        snap.Succeeded = ok;
        snap.ElapsedSeconds = sw.Elapsed.TotalSeconds;
        return snap;
    }

    public Task<Snapshot> SnapshotAsync() => Task.FromResult(Take());

    public Task ResetLatencyAsync() => Task.CompletedTask;

    public Task<Snapshot> CutAsync() => throw new NotSupportedException("the HTTP/2 group holds idle streams only (hold mode)");

    private Snapshot Take()
    {
        var s = new Snapshot { Subscribers = _settings.Subscribers, Errors = _stats.Errors(), Histogram = _stats.Latency.ToSparse() };
        foreach (var c in _connections)
        {
            s.Open += c.OpenStreams;
            s.UnexpectedCloses += c.UnexpectedCloses;
        }

        return s;
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_connections.Select(c => c.CloseAsync())).ConfigureAwait(false);
        _closing.Dispose();
    }

    /// <summary>One TLS connection (one handler) and its streams.</summary>
    private sealed class Connection
    {
        private readonly GroupSettings _settings;
        private readonly string[] _channels;
        private readonly HttpClient _client;
        private readonly List<Task> _readers = [];
        private readonly List<HttpResponseMessage> _responses = [];
        private int _open;
        private int _unexpected;

        public Connection(GroupSettings settings, IPAddress source, string[] channels)
        {
            _settings = settings;
            _channels = channels;
            var target = settings.Target;
            var handler = new SocketsHttpHandler
            {
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                EnableMultipleHttp2Connections = false,
                MaxConnectionsPerServer = 1,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = Timeout.InfiniteTimeSpan,
                ConnectTimeout = settings.ConnectTimeout,
                SslOptions = TlsClient.Options(target, SslApplicationProtocol.Http2),
                ConnectCallback = async (_, ct) =>
                {
                    var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    try
                    {
                        s.SetRawSocketOption((int)SocketOptionLevel.IP, IpBindAddressNoPort, BitConverter.GetBytes(1));
                        s.Bind(new IPEndPoint(source, 0));
                        await s.ConnectAsync(target.Server, ct).ConfigureAwait(false);
                        return new NetworkStream(s, ownsSocket: true);
                    }
                    catch
                    {
                        s.Dispose();
                        throw;
                    }
                },
            };
            _client = new HttpClient(handler)
            {
                DefaultRequestVersion = HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Timeout = Timeout.InfiniteTimeSpan,
            };
        }

        public int OpenStreams => Volatile.Read(ref _open);

        public int UnexpectedCloses => Volatile.Read(ref _unexpected);

        /// <summary>Opens every stream of this connection at once; the number answered 200 over HTTP/2.</summary>
        public async Task<int> OpenAsync(GroupStats stats, CancellationToken closing, CancellationToken ct)
        {
            var results = await Task.WhenAll(_channels.Select(ch => OpenStreamAsync(ch, stats, closing, ct))).ConfigureAwait(false);
            return results.Count(r => r);
        }

        private async Task<bool> OpenStreamAsync(string channel, GroupStats stats, CancellationToken closing, CancellationToken ct)
        {
            var target = _settings.Target;
            var uri = new Uri($"https://{TlsClient.ServerName}:{target.Server.Port}{target.SubscribePath(channel)}");
            for (var attempt = 0; attempt <= _settings.Retries && !ct.IsCancellationRequested; attempt++)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_settings.ConnectTimeout);
                HttpResponseMessage? response = null;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, uri) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                    request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
                    response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    if (response.StatusCode != HttpStatusCode.OK || response.Version != HttpVersion.Version20)
                    {
                        stats.NoteError($"status:{(int)response.StatusCode} HTTP/{response.Version}");
                        response.Dispose();
                        return false;
                    }

                    var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                    lock (_responses)
                    {
                        _responses.Add(response);
                        Interlocked.Increment(ref _open);
                        _readers.Add(Task.Run(() => ReadAsync(body, stats, closing)));
                    }

                    return true;
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
                {
                    response?.Dispose();
                    stats.NoteError(e.GetType().Name + ":" + (e.InnerException?.GetType().Name ?? e.Message));
                }

                try
                {
                    await Task.Delay(100 * (attempt + 1), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }

            return false;
        }

        private async Task ReadAsync(Stream body, GroupStats stats, CancellationToken closing)
        {
            var buffer = new byte[512];
            try
            {
                while (await body.ReadAsync(buffer, closing).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or HttpRequestException or ObjectDisposedException)
            {
            }
            finally
            {
                Interlocked.Decrement(ref _open);
                if (!closing.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _unexpected);
                    stats.NoteClose();
                }
            }
        }

        public async Task CloseAsync()
        {
            Task[] readers;
            lock (_responses)
            {
                foreach (var r in _responses)
                {
                    r.Dispose();
                }

                readers = [.. _readers];
            }

            try
            {
                await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }

            _client.Dispose();
        }
    }
}
