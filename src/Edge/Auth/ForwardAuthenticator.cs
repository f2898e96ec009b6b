using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Edge.Brokers.Envelopes;

namespace Edge.Auth;

/// <summary>
/// Asks an auth upstream about each new stream (nginx <c>auth_request</c> style): the client's
/// cookies and chosen headers go with a <c>GET</c>; a 2xx admits and its headers give the
/// identity; 401/403 pass through; anything else, or no answer in time, is a 503 and never an
/// admission. Answers are cached briefly per credentials.
/// </summary>
internal sealed class ForwardAuthenticator(ForwardAuthOptions options, HttpClient http, TimeProvider timeProvider)
{
    private readonly Uri _url = new Uri(options.Url!);
    private readonly ConcurrentDictionary<string, CachedAnswer> _cache = new(StringComparer.Ordinal);

    public int CachedCount => _cache.Count;

    /// <summary>Whether the request carries anything this authenticator would forward.</summary>
    public bool HasCredentials(HttpRequest request)
    {
        if (options.ForwardCookies && !string.IsNullOrEmpty(request.Headers.Cookie))
        {
            return true;
        }

        foreach (var header in options.Headers)
        {
            if (!string.IsNullOrEmpty(request.Headers[header]))
            {
                return true;
            }
        }

        return false;
    }

    public async Task<AuthOutcome> AuthenticateAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var key = CacheKey(request);
        var now = timeProvider.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && cached.Expires > now)
        {
            return cached.Outcome;
        }

        using var message = new HttpRequestMessage(HttpMethod.Get, _url);
        if (options.ForwardCookies && request.Headers.Cookie is { Count: > 0 } cookie)
        {
            message.Headers.TryAddWithoutValidation("Cookie", cookie.ToString());
        }

        foreach (var header in options.Headers)
        {
            if (request.Headers.TryGetValue(header, out var values) && values.Count > 0)
            {
                message.Headers.TryAddWithoutValidation(header, values.ToArray());
            }
        }

        message.Headers.TryAddWithoutValidation("X-Original-URI", request.Path + request.QueryString);
        message.Headers.TryAddWithoutValidation("X-Original-Method", request.Method);
        if (context.Connection.RemoteIpAddress is { } ip)
        {
            message.Headers.TryAddWithoutValidation("X-Forwarded-For", ip.ToString());
        }

        AuthOutcome outcome;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            outcome = Interpret(response);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return AuthOutcome.Fail(StatusCodes.Status503ServiceUnavailable, "auth-upstream-timeout", "The authentication service did not answer in time; try again later.");
        }
        catch (HttpRequestException)
        {
            return AuthOutcome.Fail(StatusCodes.Status503ServiceUnavailable, "auth-upstream-unreachable", "The authentication service is not reachable; try again later.");
        }

        if (outcome.Status is StatusCodes.Status200OK or StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden && options.CacheDuration > TimeSpan.Zero)
        {
            if (_cache.Count >= options.CacheSize)
            {
                foreach (var entry in _cache)
                {
                    if (entry.Value.Expires <= now)
                    {
                        _cache.TryRemove(entry.Key, out _);
                    }
                }

                if (_cache.Count >= options.CacheSize)
                {
                    _cache.Clear();
                }
            }

            _cache[key] = new CachedAnswer(outcome, now + options.CacheDuration);
        }

        return outcome;
    }

    private AuthOutcome Interpret(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (response.StatusCode is HttpStatusCode.Unauthorized)
        {
            var challenge = response.Headers.WwwAuthenticate.ToString();
            return AuthOutcome.Fail(StatusCodes.Status401Unauthorized, "auth-upstream-401", "The authentication service did not recognise the credentials.", challenge.Length > 0 && EnvelopeLimits.IsLineSafe(challenge) ? challenge : null);
        }

        if (response.StatusCode is HttpStatusCode.Forbidden)
        {
            return AuthOutcome.Fail(StatusCodes.Status403Forbidden, "auth-upstream-403", "The authentication service refused access.");
        }

        if (status is < 200 or > 299)
        {
            return AuthOutcome.Fail(StatusCodes.Status503ServiceUnavailable, "auth-upstream-status-" + status, "The authentication service failed; try again later.");
        }

        var userId = Header(response, options.UserIdHeader);
        var sessionId = Header(response, options.SessionIdHeader);
        if ((userId is not null && EnvelopeLimits.CheckIdentity(userId) is not null) || (sessionId is not null && EnvelopeLimits.CheckIdentity(sessionId) is not null))
        {
            return AuthOutcome.Fail(StatusCodes.Status503ServiceUnavailable, "auth-upstream-bad-identity", "The authentication service answered an unusable identity.");
        }

        var channels = Header(response, options.ChannelsHeader);
        var roles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var role in (Header(response, options.RolesHeader) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            roles.Add(role);
        }

        return AuthOutcome.Success(new EdgeIdentity(
            userId,
            sessionId is null ? [] : [sessionId],
            channels is null ? new ChannelGrant() : ChannelGrant.Parse([channels]),
            roles,
            ExpiresAt: null,
            Authenticated: true));
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        !string.IsNullOrEmpty(name) && response.Headers.TryGetValues(name, out var values) && string.Join(',', values) is { Length: > 0 } value ? value : null;

    private string CacheKey(HttpRequest request)
    {
        var builder = new StringBuilder();
        if (options.ForwardCookies)
        {
            builder.Append(request.Headers.Cookie.ToString());
        }

        foreach (var header in options.Headers)
        {
            builder.Append('\n').Append(request.Headers[header].ToString());
        }

        // Credentials are never kept in memory as they came: the key is their hash.
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString())));
    }

    private sealed record CachedAnswer(AuthOutcome Outcome, DateTimeOffset Expires);
}
