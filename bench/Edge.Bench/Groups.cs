using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Edge.Bench;

/// <summary>What a group of subscribers reports; merged across processes.</summary>
internal sealed class Snapshot
{
    public int Subscribers { get; set; }

    public int Open { get; set; }

    public long Events { get; set; }

    public long Unique { get; set; }

    public long Duplicates { get; set; }

    public long Gaps { get; set; }

    public long UnexpectedCloses { get; set; }

    public double ElapsedSeconds { get; set; }

    public int Succeeded { get; set; }

    public string Histogram { get; set; } = "0;";

    public Dictionary<string, int> Errors { get; set; } = [];

    /// <summary>What TLS negotiated for the first stream (null in clear or over HTTP/2).</summary>
    public string? Tls { get; set; }

    /// <summary>Unique deliveries per channel (summed over its subscribers).</summary>
    public Dictionary<string, long> UniqueByChannel { get; set; } = [];

    public static Snapshot Merge(IEnumerable<Snapshot> parts, out Histogram histogram)
    {
        histogram = new Histogram();
        var m = new Snapshot();
        foreach (var p in parts)
        {
            m.Subscribers += p.Subscribers;
            m.Open += p.Open;
            m.Events += p.Events;
            m.Unique += p.Unique;
            m.Duplicates += p.Duplicates;
            m.Gaps += p.Gaps;
            m.UnexpectedCloses += p.UnexpectedCloses;
            m.ElapsedSeconds = Math.Max(m.ElapsedSeconds, p.ElapsedSeconds);
            m.Succeeded += p.Succeeded;
            m.Tls ??= p.Tls;
            histogram.AddSparse(p.Histogram);
            foreach (var (k, v) in p.Errors)
            {
                m.Errors[k] = m.Errors.GetValueOrDefault(k) + v;
            }

            foreach (var (k, v) in p.UniqueByChannel)
            {
                m.UniqueByChannel[k] = m.UniqueByChannel.GetValueOrDefault(k) + v;
            }
        }

        return m;
    }
}

internal interface ISubscriberGroup : IAsyncDisposable
{
    /// <summary>Completes when the group can take commands (a child process has started).</summary>
    Task ReadyAsync();

    /// <summary>Opens every stream (bounded concurrency); Succeeded and ElapsedSeconds describe the attempt.</summary>
    Task<Snapshot> ConnectAsync();

    Task<Snapshot> SnapshotAsync();

    Task ResetLatencyAsync();

    /// <summary>Cuts every open stream at once and reconnects each with its Last-Event-ID.</summary>
    Task<Snapshot> CutAsync();
}

/// <summary>Settings shared by parent and child processes.</summary>
/// <remarks><paramref name="Http2StreamsPerConnection"/> &gt; 0: the streams go over HTTP/2 (TLS, ALPN h2), that many on each connection (<see cref="Http2Group"/>).</remarks>
internal sealed record GroupSettings(Target Target, int Subscribers, int Channels, int Sources, int Concurrency, TimeSpan ConnectTimeout, string ChannelPrefix, int BufferSize, int Retries, int Http2StreamsPerConnection = 0)
{
    public bool Http2 => Http2StreamsPerConnection > 0;

    /// <summary>The subscribers <c>i % count == index</c> of these settings in this process.</summary>
    public ISubscriberGroup CreateLocal(int index, int count) => Http2 ? new Http2Group(this) : new LocalGroup(this, index, count);

    public string ChannelOf(int subscriberIndex) => ChannelName(subscriberIndex % Channels);

    public string ChannelName(int k) => $"{ChannelPrefix}-{k}";

    public IPAddress SourceOf(int subscriberIndex) => IPAddress.Parse($"127.0.0.{1 + (subscriberIndex % Sources)}");

    public static GroupSettings From(Options o, Target target, int subscribers, int channels) => new(
        target,
        subscribers,
        channels,
        Math.Clamp(o.Int("sources", Math.Max(4, (subscribers / 10_000) + 1)), 1, 250),
        o.Int("concurrency", 64),
        TimeSpan.FromSeconds(o.Dbl("connect-timeout", 10)),
        o.Str("channel-prefix", "b" + Guid.NewGuid().ToString("N")[..8]),
        o.Int("buffer", 4096),
        o.Int("retries", 3),
        o.Flag("http2") ? Math.Max(1, o.Int("streams-per-connection", 10)) : 0);

    public IEnumerable<string> ToArgs()
    {
        yield return "--target";
        yield return Target.Kind.ToString();
        yield return "--host";
        yield return Target.Server.Address.ToString();
        yield return "--port";
        yield return Target.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        yield return "--stream-path";
        yield return Target.StreamPath;
        if (Target.Tls)
        {
            yield return "--tls";
            yield return "true";
        }

        if (Target.TlsCiphers is { Count: > 0 } ciphers)
        {
            yield return "--tls-ciphers";
            yield return string.Join(',', ciphers);
        }
        foreach (var (k, v) in new (string, object)[] { ("subs", Subscribers), ("channels", Channels), ("sources", Sources), ("concurrency", Concurrency), ("connect-timeout", ConnectTimeout.TotalSeconds), ("channel-prefix", ChannelPrefix), ("buffer", BufferSize), ("retries", Retries) })
        {
            yield return "--" + k;
            yield return Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!;
        }
    }
}

/// <summary>Subscribers <c>i</c> with <c>i % count == index</c>, in this process.</summary>
internal sealed class LocalGroup : ISubscriberGroup
{
    private readonly GroupSettings _settings;
    private readonly int _concurrency;
    private readonly GroupStats _stats = new();
    private readonly List<Subscriber> _subs = [];

    public LocalGroup(GroupSettings settings, int index, int count)
    {
        _settings = settings;
        _concurrency = Math.Max(1, settings.Concurrency / count);
        for (var i = index; i < settings.Subscribers; i += count)
        {
            _subs.Add(new Subscriber(i, settings.ChannelOf(i), settings.SourceOf(i), _stats, settings.BufferSize));
        }
    }

    public Task ReadyAsync() => Task.CompletedTask;

    public Task<Snapshot> ConnectAsync() => RunAllAsync(resume: false);

    public async Task<Snapshot> CutAsync()
    {
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(_subs.Select(s => s.CloseAsync())).ConfigureAwait(false);
        var snap = await RunAllAsync(resume: true).ConfigureAwait(false);
        snap.ElapsedSeconds = sw.Elapsed.TotalSeconds;
        return snap;
    }

    private async Task<Snapshot> RunAllAsync(bool resume)
    {
        var sw = Stopwatch.StartNew();
        var next = -1;
        var ok = 0;
        var deadline = TimeSpan.FromSeconds(Math.Max(30, _subs.Count * 0.01 + _settings.ConnectTimeout.TotalSeconds * (_settings.Retries + 1)));
        using var cts = new CancellationTokenSource(deadline);
        async Task Worker()
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= _subs.Count || cts.IsCancellationRequested)
                {
                    return;
                }

                for (var attempt = 0; attempt <= _settings.Retries && !cts.IsCancellationRequested; attempt++)
                {
                    if (await _subs[i].ConnectAsync(_settings.Target, resume, _settings.ConnectTimeout, cts.Token).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref ok);
                        break;
                    }

                    try
                    {
                        await Task.Delay(100 * (attempt + 1), cts.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Math.Min(_concurrency, Math.Max(1, _subs.Count))).Select(_ => Task.Run(Worker))).ConfigureAwait(false);
        var snap = Take();
        snap.Succeeded = ok;
        snap.ElapsedSeconds = sw.Elapsed.TotalSeconds;
        return snap;
    }

    public Task<Snapshot> SnapshotAsync() => Task.FromResult(Take());

    public Task ResetLatencyAsync()
    {
        _stats.Latency.Reset();
        return Task.CompletedTask;
    }

    private Snapshot Take()
    {
        var s = new Snapshot { Subscribers = _subs.Count, Histogram = _stats.Latency.ToSparse(), Errors = _stats.Errors(), Gaps = _stats.GapsTotal, Tls = _stats.Tls };
        foreach (var sub in _subs)
        {
            s.Open += sub.Open ? 1 : 0;
            s.Events += sub.Events;
            s.Unique += sub.Unique;
            s.Duplicates += sub.Duplicates;
            s.UnexpectedCloses += sub.UnexpectedCloses;
            s.UniqueByChannel[sub.Channel] = s.UniqueByChannel.GetValueOrDefault(sub.Channel) + sub.Unique;
        }

        return s;
    }

    public async ValueTask DisposeAsync() => await Task.WhenAll(_subs.Select(s => s.CloseAsync())).ConfigureAwait(false);
}

/// <summary>A child process of this tool holding a share of the subscribers, driven over stdin/stdout.</summary>
internal sealed class RemoteGroup : ISubscriberGroup
{
    private readonly Process _process;
    private readonly SemaphoreSlim _lock = new(1, 1);

    public RemoteGroup(GroupSettings settings, int index, int count)
    {
        var psi = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var self = Environment.ProcessPath ?? "dotnet";
        psi.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            psi.ArgumentList.Add(typeof(RemoteGroup).Assembly.Location);
        }

        psi.ArgumentList.Add("child");
        foreach (var a in settings.ToArgs())
        {
            psi.ArgumentList.Add(a);
        }

        psi.ArgumentList.Add("--child-index");
        psi.ArgumentList.Add(index.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.ArgumentList.Add("--child-count");
        psi.ArgumentList.Add(count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start a child process");
    }

    private async Task<string> CallAsync(string command, TimeSpan timeout)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _process.StandardInput.WriteLineAsync(command).ConfigureAwait(false);
            await _process.StandardInput.FlushAsync().ConfigureAwait(false);
            using var cts = new CancellationTokenSource(timeout);
            var line = await _process.StandardOutput.ReadLineAsync(cts.Token).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"child {_process.Id} exited (code {(_process.HasExited ? _process.ExitCode : -1)})");
            return line;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<Snapshot> SnapAsync(string command, TimeSpan timeout) =>
        JsonSerializer.Deserialize<Snapshot>(await CallAsync(command, timeout).ConfigureAwait(false)) ?? new Snapshot();

    public async Task ReadyAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _ = await _process.StandardOutput.ReadLineAsync(cts.Token).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"child {_process.Id} exited before it was ready");
    }

    public Task<Snapshot> ConnectAsync() => SnapAsync("CONNECT", TimeSpan.FromMinutes(10));

    public Task<Snapshot> SnapshotAsync() => SnapAsync("SNAP", TimeSpan.FromSeconds(60));

    public Task ResetLatencyAsync() => CallAsync("RESET", TimeSpan.FromSeconds(30));

    public Task<Snapshot> CutAsync() => SnapAsync("CUT", TimeSpan.FromMinutes(10));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await CallAsync("QUIT", TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
        }

        _process.Dispose();
        _lock.Dispose();
    }

    /// <summary>The child side: answers CONNECT, SNAP, RESET, CUT and QUIT, one JSON line each.</summary>
    public static async Task<int> ChildMainAsync(Options o)
    {
        var target = Target.From(o);
        var settings = GroupSettings.From(o, target, o.Int("subs", 1), o.Int("channels", 1));
        var group = settings.CreateLocal(o.Int("child-index", 0), o.Int("child-count", 1));
        var stdout = Console.Out;
        var idleLimit = TimeSpan.FromHours(2);
        await stdout.WriteLineAsync("{}").ConfigureAwait(false);
        await stdout.FlushAsync().ConfigureAwait(false);
        while (true)
        {
            using var cts = new CancellationTokenSource(idleLimit);
            string? line;
            try
            {
                line = await Console.In.ReadLineAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                line = null;
            }

            switch (line)
            {
                case null:
                case "QUIT":
                    await group.DisposeAsync().ConfigureAwait(false);
                    await stdout.WriteLineAsync("{}").ConfigureAwait(false);
                    await stdout.FlushAsync().ConfigureAwait(false);
                    return 0;
                case "CONNECT":
                    await stdout.WriteLineAsync(JsonSerializer.Serialize(await group.ConnectAsync().ConfigureAwait(false))).ConfigureAwait(false);
                    break;
                case "SNAP":
                    await stdout.WriteLineAsync(JsonSerializer.Serialize(await group.SnapshotAsync().ConfigureAwait(false))).ConfigureAwait(false);
                    break;
                case "RESET":
                    await group.ResetLatencyAsync().ConfigureAwait(false);
                    await stdout.WriteLineAsync("{}").ConfigureAwait(false);
                    break;
                case "CUT":
                    await stdout.WriteLineAsync(JsonSerializer.Serialize(await group.CutAsync().ConfigureAwait(false))).ConfigureAwait(false);
                    break;
                default:
                    await stdout.WriteLineAsync("{}").ConfigureAwait(false);
                    break;
            }

            await stdout.FlushAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>All groups of one measurement, in-process or spread over child processes.</summary>
internal sealed class Groups : IAsyncDisposable
{
    private readonly List<ISubscriberGroup> _groups = [];

    public Groups(GroupSettings settings, int processes)
    {
        Settings = settings;
        if (processes <= 1 || settings.Http2)
        {
            _groups.Add(settings.CreateLocal(0, 1));
        }
        else
        {
            for (var i = 0; i < processes; i++)
            {
                _groups.Add(new RemoteGroup(settings, i, processes));
            }
        }
    }

    public GroupSettings Settings { get; }

    public int Processes => _groups.Count;

    public static int ProcessesFor(Options o, int subscribers)
    {
        var p = o.Int("processes", 0);
        return p > 0 ? p : (int)Math.Ceiling(subscribers / 15_000.0);
    }

    public async Task<(Snapshot Snap, Histogram Hist, double WallSeconds)> ConnectAsync()
    {
        await Task.WhenAll(_groups.Select(g => g.ReadyAsync())).ConfigureAwait(false);
        var sw = Stopwatch.StartNew();
        var parts = await Task.WhenAll(_groups.Select(g => g.ConnectAsync())).ConfigureAwait(false);
        var s = Snapshot.Merge(parts, out var h);
        return (s, h, sw.Elapsed.TotalSeconds);
    }

    public async Task<(Snapshot Snap, Histogram Hist)> SnapshotAsync()
    {
        var parts = await Task.WhenAll(_groups.Select(g => g.SnapshotAsync())).ConfigureAwait(false);
        var s = Snapshot.Merge(parts, out var h);
        return (s, h);
    }

    public Task ResetLatencyAsync() => Task.WhenAll(_groups.Select(g => g.ResetLatencyAsync()));

    public async Task<(Snapshot Snap, double WallSeconds)> CutAsync()
    {
        var sw = Stopwatch.StartNew();
        var parts = await Task.WhenAll(_groups.Select(g => g.CutAsync())).ConfigureAwait(false);
        return (Snapshot.Merge(parts, out _), sw.Elapsed.TotalSeconds);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var g in _groups)
        {
            await g.DisposeAsync().ConfigureAwait(false);
        }
    }
}
