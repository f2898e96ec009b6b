using Microsoft.IdentityModel.Tokens;

namespace Edge.Auth;

/// <summary>
/// Public keys from a JWKS file or URL, loaded at first use, kept for <c>JwksRefresh</c>, and read
/// again early (at most every 30 s) when a token names a key id that is not known yet.
/// A failed refresh keeps the last good keys.
/// </summary>
internal sealed partial class JwksKeySource(string? file, string? url, TimeSpan refresh, HttpClient http, TimeProvider timeProvider, ILogger logger)
{
    private static readonly TimeSpan MinimumRefetch = TimeSpan.FromSeconds(30);

    private readonly Uri? _url = string.IsNullOrEmpty(url) ? null : new Uri(url);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyList<SecurityKey> _keys = [];
    private long _loadedAt;
    private bool _loaded;

    public string Source => file ?? _url!.ToString();

    /// <summary>The current keys, loading them first when none are loaded or they are stale.</summary>
    public async ValueTask<IReadOnlyList<SecurityKey>> GetKeysAsync(bool unknownKeyId, CancellationToken cancellationToken)
    {
        var age = timeProvider.GetElapsedTime(Volatile.Read(ref _loadedAt));
        if (_loaded && age < refresh && !(unknownKeyId && age >= MinimumRefetch))
        {
            return _keys;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            age = timeProvider.GetElapsedTime(_loadedAt);
            if (_loaded && age < refresh && !(unknownKeyId && age >= MinimumRefetch))
            {
                return _keys;
            }

            try
            {
                string json;
                if (file is not null)
                {
                    json = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(TimeSpan.FromSeconds(10));
                    json = await http.GetStringAsync(_url, timeout.Token).ConfigureAwait(false);
                }

                var set = new JsonWebKeySet(json);
                _keys = [.. set.GetSigningKeys()];
                _loaded = true;
                Log.JwksLoaded(logger, Source, _keys.Count);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Keep the last good keys; try again after the minimum refetch interval.
                Log.JwksFailed(logger, Source, ex);
            }

            Volatile.Write(ref _loadedAt, timeProvider.GetTimestamp());
            return _keys;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.JwksLoaded, Level = LogLevel.Information, Message = "Loaded {Count} signing key(s) from {Source}")]
        public static partial void JwksLoaded(ILogger logger, string source, int count);

        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.JwksFailed, Level = LogLevel.Warning, Message = "Could not load signing keys from {Source}; the last good keys stay in use")]
        public static partial void JwksFailed(ILogger logger, string source, Exception exception);
    }
}
