using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Edge.Reliability;

/// <summary>
/// A TCP relay on 127.0.0.1 that injects network faults. Each accepted connection is piped to one
/// of the upstreams (the first that accepts, starting at a rotating index, among those
/// <see cref="IsUpstreamUsable"/> allows). Faults:
/// <list type="bullet">
/// <item>with a <see cref="RelaySettings.Lifetime"/>, each connection is reset (RST) after a random
/// time in that range and its client, named by the <c>X-Bench-Client</c> request header, is refused
/// (reset at accept) for <see cref="RelaySettings.Offline"/>;</item>
/// <item><see cref="Cut"/> resets every open connection and refuses new ones until <see cref="Restore"/>.</item>
/// </list>
/// </summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private const int MaxHeadBytes = 8192;
    private readonly RelaySettings _settings;
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<long, Pipe> _open = new();
    private readonly ConcurrentDictionary<string, long> _offlineUntil = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private long _nextId;
    private int _rotate;
    private volatile bool _cut;
    private long _accepted;
    private long _refused;
    private long _faults;

    public TcpRelay(RelaySettings settings)
    {
        _settings = settings;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, settings.Port));
        _listener.Listen(4096);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Upstream index → may new connections go there (a load balancer's health check). Null = all.</summary>
    public Func<int, bool>? IsUpstreamUsable { get; set; }

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Connections reset by a random lifetime or a cut.</summary>
    public long Faults => Interlocked.Read(ref _faults);

    public int OpenCount => _open.Count;

    /// <summary>Resets every open connection and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var pipe in _open.Values)
        {
            pipe.Reset();
            Interlocked.Increment(ref _faults);
        }
    }

    public void Restore() => _cut = false;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            Interlocked.Increment(ref _accepted);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        client.NoDelay = true;
        if (_cut)
        {
            Refuse(client);
            return;
        }

        var head = Array.Empty<byte>();
        var headLength = 0;
        if (_settings.Lifetime is not null)
        {
            // Read the request head to learn who the client is; the bytes are forwarded as they are.
            head = new byte[MaxHeadBytes];
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                while (headLength < head.Length && head.AsSpan(0, headLength).IndexOf("\r\n\r\n"u8) < 0)
                {
                    var n = await client.ReceiveAsync(head.AsMemory(headLength), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        client.Dispose();
                        return;
                    }

                    headLength += n;
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                client.Dispose();
                return;
            }

            var tag = ClientTag(head.AsSpan(0, headLength));
            if (tag is not null && _offlineUntil.TryGetValue(tag, out var until) && Environment.TickCount64 < until)
            {
                Refuse(client);
                return;
            }
        }

        var upstream = await ConnectUpstreamAsync().ConfigureAwait(false);
        if (upstream is null)
        {
            Refuse(client);
            return;
        }

        var id = Interlocked.Increment(ref _nextId);
        var pipe = new Pipe(client, upstream);
        _open[id] = pipe;
        try
        {
            if (headLength > 0)
            {
                await upstream.SendAsync(head.AsMemory(0, headLength), SocketFlags.None).ConfigureAwait(false);
            }

            Task lifetime = Task.CompletedTask;
            if (_settings.Lifetime is { } range)
            {
                var tag = ClientTag(head.AsSpan(0, headLength));
                var life = range.Min + ((range.Max - range.Min) * Random.Shared.NextDouble());
                lifetime = ExpireAsync(pipe, life, tag);
            }

            await pipe.RunAsync(_settings.BufferBytes).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            pipe.Reset();
        }
        finally
        {
            _open.TryRemove(id, out _);
            pipe.Dispose();
        }
    }

    private async Task ExpireAsync(Pipe pipe, TimeSpan after, string? tag)
    {
        try
        {
            await Task.WhenAny(Task.Delay(after, _stop.Token), pipe.Completion).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (pipe.Completion.IsCompleted || _stop.IsCancellationRequested)
        {
            return;
        }

        if (tag is not null)
        {
            _offlineUntil[tag] = Environment.TickCount64 + (long)_settings.Offline.TotalMilliseconds;
        }

        Interlocked.Increment(ref _faults);
        pipe.Reset();
    }

    private async Task<Socket?> ConnectUpstreamAsync()
    {
        var count = _settings.Upstreams.Count;
        var start = Interlocked.Increment(ref _rotate);
        for (var k = 0; k < count; k++)
        {
            var i = (int)((uint)(start + k) % (uint)count);
            if (IsUpstreamUsable is { } usable && !usable(i))
            {
                continue;
            }

            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await s.ConnectAsync(_settings.Upstreams[i], timeout.Token).ConfigureAwait(false);
                return s;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                s.Dispose();
            }
        }

        return null;
    }

    private void Refuse(Socket client)
    {
        Interlocked.Increment(ref _refused);
        Pipe.ResetSocket(client);
    }

    private static string? ClientTag(ReadOnlySpan<byte> head)
    {
        var text = Encoding.ASCII.GetString(head);
        const string name = "\r\nX-Bench-Client:";
        var at = text.IndexOf(name, StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            return null;
        }

        var end = text.IndexOf('\r', at + name.Length);
        return end < 0 ? null : text[(at + name.Length)..end].Trim();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (var pipe in _open.Values)
        {
            pipe.Reset();
        }

        try
        {
            await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>Two sockets copied into each other until either side ends.</summary>
    private sealed class Pipe(Socket client, Socket upstream) : IDisposable
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reset;

        public Task Completion => _done.Task;

        public async Task RunAsync(int bufferBytes)
        {
            var a = CopyAsync(client, upstream, bufferBytes);
            var b = CopyAsync(upstream, client, bufferBytes);
            await Task.WhenAny(a, b).ConfigureAwait(false);
            // One side ended: end the other (a FIN, or an RST after a fault) and let both copies stop.
            if (Volatile.Read(ref _reset) == 0)
            {
                TryShutdown(client);
                TryShutdown(upstream);
            }

            await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            _done.TrySetResult();
        }

        public void Reset()
        {
            if (Interlocked.Exchange(ref _reset, 1) == 0)
            {
                ResetSocket(client);
                ResetSocket(upstream);
            }
        }

        public static void ResetSocket(Socket s)
        {
            try
            {
                s.LingerState = new LingerOption(true, 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            s.Dispose();
        }

        private static void TryShutdown(Socket s)
        {
            try
            {
                s.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }

        private static async Task CopyAsync(Socket from, Socket to, int bufferBytes)
        {
            var buffer = new byte[bufferBytes];
            try
            {
                while (true)
                {
                    var n = await from.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return;
                    }

                    await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            client.Dispose();
            upstream.Dispose();
            _done.TrySetResult();
        }
    }
}

/// <summary>What a <see cref="TcpRelay"/> listens on, where it forwards, and its random faults.</summary>
/// <param name="Port">0 = an ephemeral port.</param>
/// <param name="Lifetime">Each connection is reset after a random time in this range; null = never.</param>
/// <param name="Offline">How long a client whose connection was reset is refused.</param>
internal sealed record RelaySettings(int Port, IReadOnlyList<IPEndPoint> Upstreams, (TimeSpan Min, TimeSpan Max)? Lifetime = null, TimeSpan Offline = default, int BufferBytes = 4096);
