using System.Diagnostics;
using System.Net;
using Edge.Bench;

namespace Edge.Reliability;

/// <summary>
/// N SSE clients (Edge.Bench's <see cref="Subscriber"/>, one channel each) that behave like a
/// browser's EventSource: when a stream ends they wait the server's <c>retry:</c> (or
/// <see cref="FleetSettings.DefaultRetry"/>), reconnect with <c>Last-Event-ID</c>, and after a
/// failed connect try again after the same delay. A non-200 answer makes a client give up, as
/// EventSource does, unless <see cref="FleetSettings.RetryAfterStatus"/>.
/// </summary>
internal sealed class Fleet : IAsyncDisposable
{
    private static readonly double MicrosPerTick = 1_000_000.0 / Stopwatch.Frequency;
    private readonly FleetSettings _settings;
    private readonly Client[] _clients;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _connecting;
    private Task _loop = Task.CompletedTask;
    private long _attempts;
    private long _failedAttempts;

    public Fleet(FleetSettings settings)
    {
        _settings = settings;
        _connecting = new SemaphoreSlim(settings.ConnectConcurrency, settings.ConnectConcurrency);
        _clients = new Client[settings.Clients];
        for (var i = 0; i < settings.Clients; i++)
        {
            var channel = settings.Channels[i % settings.Channels.Count];
            _clients[i] = new Client(new Subscriber(i, channel, IPAddress.Loopback, Stats, 4096) { ClientTag = "c" + i });
        }
    }

    public GroupStats Stats { get; } = new();

    /// <summary>Closed stream → next open stream, per reconnection (µs).</summary>
    public Histogram Downtime { get; } = new();

    public IReadOnlyList<Subscriber> Subscribers => _clients.Select(c => c.Sub).ToArray();

    public long Attempts => Interlocked.Read(ref _attempts);

    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);

    public int GaveUp => _clients.Count(c => c.GaveUp);

    public int OpenCount => _clients.Count(c => c.Sub.Open);

    public long Reconnects => _clients.Sum(c => c.Reconnects);

    /// <summary>Opens every stream once (not resumed) and then keeps them open; true when all opened in time.</summary>
    public async Task<bool> StartAsync(TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        _loop = Task.Run(SuperviseAsync);
        while (sw.Elapsed < limit)
        {
            if (_clients.All(c => c.Sub.Open))
            {
                return true;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>Waits until every client that has not given up has an open stream, at most <paramref name="limit"/>.</summary>
    public async Task<bool> WaitAllOpenAsync(TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < limit)
        {
            if (_clients.All(c => c.GaveUp || c.Sub.Open))
            {
                return true;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        return false;
    }

    private async Task SuperviseAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var c in _clients)
            {
                if (c.Busy || c.GaveUp)
                {
                    continue;
                }

                if (c.Sub.Open)
                {
                    c.WasOpen = true;
                    continue;
                }

                if (c.WasOpen)
                {
                    // The stream ended: come back after the server's retry hint, as EventSource does.
                    c.WasOpen = false;
                    c.DownSince = c.Sub.ClosedTimestamp != 0 ? c.Sub.ClosedTimestamp : now;
                    c.NextAttempt = now + Ticks(RetryOf(c));
                    continue;
                }

                if (now < c.NextAttempt)
                {
                    continue;
                }

                c.Busy = true;
                _ = ConnectAsync(c);
            }

            try
            {
                await Task.Delay(20, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ConnectAsync(Client c)
    {
        try
        {
            await _connecting.WaitAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            c.Busy = false;
            return;
        }

        try
        {
            Interlocked.Increment(ref _attempts);
            var resume = c.Sub.LastEventId is not null;
            var ok = await c.Sub.ConnectAsync(_settings.Target, resume, _settings.ConnectTimeout, _stop.Token).ConfigureAwait(false);
            var now = Stopwatch.GetTimestamp();
            if (ok)
            {
                if (c.DownSince != 0)
                {
                    Downtime.Record((long)((now - c.DownSince) * MicrosPerTick));
                    c.Reconnects++;
                }

                c.DownSince = 0;
                c.WasOpen = true;
            }
            else
            {
                Interlocked.Increment(ref _failedAttempts);
                if (c.DownSince == 0)
                {
                    c.DownSince = now;
                }

                if (c.Sub.LastStatus is > 0 and not 200 && !_settings.RetryAfterStatus)
                {
                    c.GaveUp = true;
                }

                c.NextAttempt = now + Ticks(RetryOf(c));
            }
        }
        catch (Exception e) when (e is OperationCanceledException)
        {
        }
        finally
        {
            _connecting.Release();
            c.Busy = false;
        }
    }

    private TimeSpan RetryOf(Client c)
    {
        var ms = c.Sub.RetryMilliseconds ?? (int)_settings.DefaultRetry.TotalMilliseconds;
        return TimeSpan.FromMilliseconds(ms);
    }

    private static long Ticks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    /// <summary>The worst client's time between a closed stream and the next open one, for those down now (µs); 0 when all are open.</summary>
    public long LongestCurrentOutageMicros()
    {
        var now = Stopwatch.GetTimestamp();
        long worst = 0;
        foreach (var c in _clients)
        {
            if (!c.Sub.Open && c.DownSince != 0)
            {
                worst = Math.Max(worst, (long)((now - c.DownSince) * MicrosPerTick));
            }
        }

        return worst;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
        }

        await Task.WhenAll(_clients.Select(c => c.Sub.CloseAsync())).ConfigureAwait(false);
        _stop.Dispose();
    }

    private sealed class Client(Subscriber sub)
    {
        public Subscriber Sub { get; } = sub;

        public volatile bool Busy;

        public bool GaveUp;

        public bool WasOpen;

        public long DownSince;

        public long NextAttempt;

        public int Reconnects;
    }
}

/// <param name="Target">Where the clients connect (an edge, or a relay in front of edges).</param>
/// <param name="DefaultRetry">EventSource's reconnection time before the server sent <c>retry:</c>.</param>
/// <param name="RetryAfterStatus">Keep retrying after a non-200 answer (a client with its own retry loop).</param>
internal sealed record FleetSettings(Target Target, int Clients, IReadOnlyList<string> Channels, TimeSpan DefaultRetry, TimeSpan ConnectTimeout, int ConnectConcurrency = 64, bool RetryAfterStatus = false);
