using Edge.Diagnostics;
using Microsoft.Extensions.Options;

namespace Edge.Tls;

/// <summary>
/// Watches the files of every <c>Edge:Tls</c> certificate by reading them every
/// <see cref="EdgeTlsOptions.ReloadCheckInterval"/> and comparing a hash of their bytes: this sees
/// a rewrite, a rename over the file and a swapped symlink (Kubernetes secrets) alike, where file
/// events can be missed (network and overlay file systems, containers). Changed files are loaded
/// once they stayed the same for <see cref="EdgeTlsOptions.ReloadDebounce"/>, so a certificate and
/// its key written one after the other load together. Files that do not load are logged once and
/// the previous certificate stays, until the files change again.
/// </summary>
internal sealed partial class TlsCertificateReloader(TlsCertificateSelector selector, TimeProvider timeProvider, ILogger<TlsCertificateReloader> logger) : IHostedService, IDisposable
{
    private readonly Dictionary<string, Watched> _watched = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _checking = new();
    private ITimer? _timer;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = selector.Options;
        if (!options.ReloadOnChange || !options.HasCertificates)
        {
            return Task.CompletedTask;
        }

        // From the files as the selector loaded them, so a change since is seen at the first check.
        var loaded = selector.LoadedFingerprints;
        foreach (var (name, certificate) in options.Certificates)
        {
            _watched[name] = new Watched(TlsCertificateFiles.PathsOf(certificate), loaded[name]);
        }

        _timer = timeProvider.CreateTimer(static state => ((TlsCertificateReloader)state!).Check(), this, options.ReloadCheckInterval, options.ReloadCheckInterval);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>One look at every certificate's files; a look still running when the timer fires again is not overlapped.</summary>
    internal void Check()
    {
        if (!_checking.TryEnter())
        {
            return;
        }

        try
        {
            var now = timeProvider.GetTimestamp();
            foreach (var (name, watched) in _watched)
            {
                var fingerprint = TlsCertificateFiles.Fingerprint(watched.Paths);
                if (fingerprint == watched.Served)
                {
                    watched.Pending = null;
                }
                else if (fingerprint != watched.Pending)
                {
                    watched.Pending = fingerprint;
                    watched.PendingSince = now;
                }
                else if (timeProvider.GetElapsedTime(watched.PendingSince, now) >= selector.Options.ReloadDebounce)
                {
                    // Tried once per version of the files: a bad file is logged once, not at every look.
                    watched.Served = fingerprint;
                    watched.Pending = null;
                    selector.TryReload(name);
                }
            }
        }
        catch (Exception ex)
        {
            Log.CheckFailed(logger, ex);
        }
        finally
        {
            _checking.Exit();
        }
    }

    private sealed class Watched(string[] paths, string served)
    {
        public string[] Paths { get; } = paths;

        /// <summary>The files last loaded, or last tried.</summary>
        public string Served { get; set; } = served;

        public string? Pending { get; set; }

        public long PendingSince { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.TlsReloadCheckFailed, EventName = "TlsReloadCheckFailed", Level = LogLevel.Error, Message = "Checking the TLS certificate files for changes failed; the served certificates are unchanged")]
        public static partial void CheckFailed(ILogger logger, Exception exception);
    }
}
