using System.Diagnostics;
using System.Globalization;

namespace Edge.Bench;

internal sealed record PublishResult(long Attempted, long Accepted, long Failed, long[] AcceptedByChannel, double PublishSeconds, double TargetSeconds, bool OnPace, Dictionary<string, int> Errors)
{
    public double AchievedRate => PublishSeconds > 0 ? Accepted / PublishSeconds : 0;
}

/// <summary>
/// Publishes at a fixed rate, round-robin over the channels, one event per HTTP request (the same
/// for every target), with at most <c>maxInFlight</c> requests outstanding. Each payload is
/// <c>"{per-channel seq} {Stopwatch timestamp}"</c>, the timestamp taken just before sending.
/// </summary>
internal sealed class Publisher : IDisposable
{
    private readonly Target _target;
    private readonly HttpClient _client;
    private readonly int _maxInFlight;
    private readonly Dictionary<string, long> _nextSeq = new(StringComparer.Ordinal);

    public Publisher(Target target, int maxInFlight)
    {
        _target = target;
        _maxInFlight = maxInFlight;
        _client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = maxInFlight,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        { Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>A few publishes to a channel nobody reads, so connections and code paths are warm.</summary>
    public async Task WarmUpAsync(string channel, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var req = _target.PublishRequest(channel, $"{i} {Stopwatch.GetTimestamp()}", i);
            try
            {
                using var resp = await _client.SendAsync(req).ConfigureAwait(false);
            }
            catch (HttpRequestException)
            {
            }
        }
    }

    public async Task<PublishResult> RunAsync(IReadOnlyList<string> channels, double rate, double seconds, CancellationToken ct)
    {
        var total = (long)Math.Round(rate * seconds);
        var accepted = new long[channels.Count];
        long ok = 0, failed = 0, attempted = 0;
        var errors = new Dictionary<string, int>(StringComparer.Ordinal);
        using var inFlight = new SemaphoreSlim(_maxInFlight, _maxInFlight);
        var hardStop = TimeSpan.FromSeconds((seconds * 3) + 10);
        var sw = Stopwatch.StartNew();
        long i = 0;
        while (i < total && sw.Elapsed < hardStop && !ct.IsCancellationRequested)
        {
            var due = Math.Min(total, (long)(sw.Elapsed.TotalSeconds * rate) + 1);
            while (i < due && sw.Elapsed < hardStop)
            {
                var k = (int)(i % channels.Count);
                var channel = channels[k];
                var seq = _nextSeq.GetValueOrDefault(channel);
                _nextSeq[channel] = seq + 1;
                await inFlight.WaitAsync(ct).ConfigureAwait(false);
                attempted++;
                _ = SendAsync(channel, k, seq);
                i++;
            }

            await Task.Delay(1, ct).ConfigureAwait(false);
        }

        var publishSeconds = sw.Elapsed.TotalSeconds;
        for (var n = 0; n < _maxInFlight; n++)
        {
            if (!await inFlight.WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false))
            {
                break;
            }
        }

        var onPace = i >= total && publishSeconds <= (seconds * 1.05) + 0.25;
        return new PublishResult(attempted, Interlocked.Read(ref ok), Interlocked.Read(ref failed), accepted, publishSeconds, seconds, onPace, errors);

        async Task SendAsync(string channel, int k, long seq)
        {
            try
            {
                using var req = _target.PublishRequest(channel, seq.ToString(CultureInfo.InvariantCulture) + " " + Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture), seq);
                using var resp = await _client.SendAsync(req, CancellationToken.None).ConfigureAwait(false);
                if (resp.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref accepted[k]);
                    Interlocked.Increment(ref ok);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                    Note("status:" + (int)resp.StatusCode);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                Interlocked.Increment(ref failed);
                Note(e.GetType().Name);
            }
            finally
            {
                inFlight.Release();
            }
        }

        void Note(string what)
        {
            lock (errors)
            {
                errors[what] = errors.GetValueOrDefault(what) + 1;
            }
        }
    }

    public void Dispose() => _client.Dispose();
}
