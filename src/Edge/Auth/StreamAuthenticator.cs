using System.Collections.Concurrent;
using Edge.Configuration;
using Microsoft.Extensions.Options;

namespace Edge.Auth;

/// <summary>
/// Runs the auth step configured for a stream or the publish API. One JWT validator and one
/// forward client per configuration key, created at first use.
/// </summary>
internal sealed partial class StreamAuthenticator : IDisposable
{
    private readonly HttpClient _http;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<StreamAuthenticator> _logger;
    private readonly ConcurrentDictionary<string, JwtAuthenticator> _jwt = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ForwardAuthenticator> _forward = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ChannelRoleMap> _roleMaps = new(StringComparer.Ordinal);

    public StreamAuthenticator(TimeProvider timeProvider, ILogger<StreamAuthenticator> logger)
    {
        _timeProvider = timeProvider;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The identity of an Anonymous-mode request: user and session come from the request itself.</summary>
    public static EdgeIdentity Unchecked { get; } = new(null, null, null, EdgeIdentity.NoRoles, null, Authenticated: false);

    public ChannelRoleMap RoleMap(string key, StreamAuthOptions options) => _roleMaps.GetOrAdd(key, static (_, o) => new ChannelRoleMap(o.ChannelRoles), options);

    public ForwardAuthenticator Forward(string key, ForwardAuthOptions options) =>
        _forward.GetOrAdd(key, static (_, state) => new ForwardAuthenticator(state.Options, state.Owner._http, state.Owner._timeProvider), (Options: options, Owner: this));

    public async Task<AuthOutcome> AuthenticateAsync(HttpContext context, string key, StreamAuthOptions options, CancellationToken cancellationToken)
    {
        switch (options.Mode)
        {
            case AuthMode.Jwt:
                var (token, problem) = ReadToken(context.Request, options.Jwt);
                if (problem is not null)
                {
                    return AuthOutcome.Fail(StatusCodes.Status400BadRequest, "token-conflict", problem);
                }

                if (token is null)
                {
                    return options.AllowAnonymous
                        ? AuthOutcome.Success(EdgeIdentity.AnonymousVisitor)
                        : AuthOutcome.Fail(StatusCodes.Status401Unauthorized, "missing-token", "A token is required (Authorization: Bearer, or the '" + (options.Jwt.QueryParameter ?? "token") + "' query parameter).", "Bearer");
                }

                return await AuthenticateJwtAsync(key, options.Jwt, token, cancellationToken).ConfigureAwait(false);

            case AuthMode.Forward:
                var forward = Forward(key, options.Forward);
                if (options.AllowAnonymous && !forward.HasCredentials(context.Request))
                {
                    return AuthOutcome.Success(EdgeIdentity.AnonymousVisitor);
                }

                var outcome = await forward.AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
                if (options.AllowAnonymous && outcome.Status == StatusCodes.Status401Unauthorized)
                {
                    return AuthOutcome.Success(EdgeIdentity.AnonymousVisitor);
                }

                if (outcome.Status == StatusCodes.Status503ServiceUnavailable)
                {
                    Log.AuthUpstreamFailed(_logger, key, outcome.Reason!);
                }

                return outcome;

            default:
                return AuthOutcome.Success(Unchecked);
        }
    }

    public Task<AuthOutcome> AuthenticateJwtAsync(string key, JwtAuthOptions options, string token, CancellationToken cancellationToken) =>
        _jwt.GetOrAdd(key, static (_, state) => new JwtAuthenticator(state.Options, state.Owner._http, state.Owner._timeProvider, state.Owner._logger), (Options: options, Owner: this)).AuthenticateAsync(token, cancellationToken);

    /// <summary>
    /// The token from the header, the query parameter or the cookie, in that order. A header and a
    /// query parameter that both carry a token must carry the same one.
    /// </summary>
    public static (string? Token, string? Problem) ReadToken(HttpRequest request, JwtAuthOptions options)
    {
        string? fromHeader = null, fromQuery = null;
        if (options.FromHeader)
        {
            var authorization = request.Headers.Authorization.ToString();
            if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                fromHeader = authorization["Bearer ".Length..].Trim();
                if (fromHeader.Length == 0)
                {
                    fromHeader = null;
                }
            }
        }

        if (!string.IsNullOrEmpty(options.QueryParameter) && request.Query.TryGetValue(options.QueryParameter, out var values) && values.Count > 0)
        {
            if (values.Count > 1)
            {
                return (null, $"The query parameter '{options.QueryParameter}' is given more than once.");
            }

            fromQuery = string.IsNullOrEmpty(values[0]) ? null : values[0];
        }

        if (fromHeader is not null && fromQuery is not null && !string.Equals(fromHeader, fromQuery, StringComparison.Ordinal))
        {
            return (null, $"The Authorization header and the '{options.QueryParameter}' query parameter carry different tokens.");
        }

        var token = fromHeader ?? fromQuery;
        if (token is null && !string.IsNullOrEmpty(options.Cookie) && request.Cookies.TryGetValue(options.Cookie, out var cookie) && !string.IsNullOrEmpty(cookie))
        {
            token = cookie;
        }

        return (token, null);
    }

    public void Dispose() => _http.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = Diagnostics.EdgeEventIds.AuthUpstreamFailed, Level = LogLevel.Warning, Message = "The auth upstream of {Key} failed ({Reason}); the client was answered 503")]
        public static partial void AuthUpstreamFailed(ILogger logger, string key, string reason);
    }
}
