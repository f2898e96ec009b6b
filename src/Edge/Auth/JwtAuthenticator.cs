using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Edge.Auth;

/// <summary>Validates a JWT against one <see cref="JwtAuthOptions"/>: signature, algorithm, issuer, audience and lifetime.</summary>
internal sealed class JwtAuthenticator
{
    private readonly JwtAuthOptions _options;
    private readonly TokenValidationParameters _parameters;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly IReadOnlyList<SecurityKey> _secrets;
    private readonly JwksKeySource? _jwks;

    public JwtAuthenticator(JwtAuthOptions options, HttpClient http, TimeProvider timeProvider, ILogger logger)
    {
        _options = options;
        _secrets = options.Secrets.Select(s => (SecurityKey)new SymmetricSecurityKey(DecodeSecret(s))).ToArray();
        if (!string.IsNullOrEmpty(options.JwksFile) || !string.IsNullOrEmpty(options.JwksUrl))
        {
            _jwks = new JwksKeySource(string.IsNullOrEmpty(options.JwksFile) ? null : options.JwksFile, options.JwksUrl, options.JwksRefresh, http, timeProvider, logger);
        }

        _parameters = new TokenValidationParameters
        {
            ValidateIssuer = options.Issuers.Count > 0,
            ValidIssuers = options.Issuers,
            ValidateAudience = options.Audiences.Count > 0,
            ValidAudiences = options.Audiences,
            ValidateLifetime = true,
            RequireExpirationTime = options.RequireExpiration,
            ClockSkew = options.ClockSkew,
            RequireSignedTokens = true,
            ValidAlgorithms = options.Algorithms.Where(a => !string.Equals(a, "none", StringComparison.OrdinalIgnoreCase)).ToArray(),
            ValidateIssuerSigningKey = true,
            TryAllIssuerSigningKeys = true,
            NameClaimType = options.UserIdClaim,
            RoleClaimType = options.RolesClaim,
            IssuerSigningKeys = _secrets,
        };
    }

    /// <summary>The bytes of a configured secret: <c>base64:...</c> or plain UTF-8 text.</summary>
    public static byte[] DecodeSecret(string secret) =>
        secret.StartsWith("base64:", StringComparison.Ordinal) ? Convert.FromBase64String(secret["base64:".Length..]) : Encoding.UTF8.GetBytes(secret);

    public async Task<AuthOutcome> AuthenticateAsync(string token, CancellationToken cancellationToken)
    {
        var result = await ValidateAsync(token, unknownKeyId: false, cancellationToken).ConfigureAwait(false);
        if (!result.IsValid && _jwks is not null && result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // A key rotated in at the issuer: read the JWKS again (rate-limited) and try once more.
            result = await ValidateAsync(token, unknownKeyId: true, cancellationToken).ConfigureAwait(false);
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            var (reason, detail) = Describe(result.Exception);
            return AuthOutcome.Fail(StatusCodes.Status401Unauthorized, reason, detail, $"Bearer error=\"invalid_token\"");
        }

        return AuthOutcome.Success(ToIdentity(jwt));
    }

    private async Task<TokenValidationResult> ValidateAsync(string token, bool unknownKeyId, CancellationToken cancellationToken)
    {
        var parameters = _parameters;
        if (_jwks is not null)
        {
            var keys = await _jwks.GetKeysAsync(unknownKeyId, cancellationToken).ConfigureAwait(false);
            parameters = _parameters.Clone();
            parameters.IssuerSigningKeys = _secrets.Count == 0 ? keys : [.. _secrets, .. keys];
        }

        try
        {
            return await _handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException)
        {
            return new TokenValidationResult { IsValid = false, Exception = ex };
        }
    }

    private EdgeIdentity ToIdentity(JsonWebToken jwt)
    {
        string? userId = null;
        var sessions = new List<string>();
        var channels = new List<string>();
        var roles = new HashSet<string>(StringComparer.Ordinal);
        var hasChannelsClaim = false;
        foreach (var claim in jwt.Claims)
        {
            if (claim.Type == _options.UserIdClaim)
            {
                userId ??= claim.Value;
            }
            else if (claim.Type == _options.SessionIdClaim)
            {
                sessions.Add(claim.Value);
            }
            else if (claim.Type == _options.ChannelsClaim)
            {
                hasChannelsClaim = true;
                channels.Add(claim.Value);
            }
            else if (claim.Type == _options.RolesClaim)
            {
                foreach (var role in claim.Value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    roles.Add(role);
                }
            }
        }

        DateTimeOffset? expires = jwt.ValidTo == DateTime.MinValue ? null : new DateTimeOffset(DateTime.SpecifyKind(jwt.ValidTo, DateTimeKind.Utc));
        return new EdgeIdentity(
            string.IsNullOrEmpty(userId) ? null : userId,
            sessions,
            hasChannelsClaim ? ChannelGrant.Parse(channels) : new ChannelGrant(),
            roles,
            expires,
            Authenticated: true);
    }

    private static (string Reason, string Detail) Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => ("token-expired", "The token has expired."),
        SecurityTokenNotYetValidException => ("token-not-yet-valid", "The token is not valid yet."),
        SecurityTokenNoExpirationException => ("token-without-expiry", "The token has no expiry (exp)."),
        SecurityTokenInvalidAudienceException => ("wrong-audience", "The token is not meant for this audience."),
        SecurityTokenInvalidIssuerException => ("wrong-issuer", "The token comes from an issuer that is not trusted."),
        SecurityTokenInvalidAlgorithmException => ("algorithm-not-allowed", "The token's signature algorithm is not accepted."),
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => ("invalid-signature", "The token's signature is not valid."),
        SecurityTokenMalformedException or ArgumentException => ("malformed-token", "The token is not a well-formed JWT."),
        _ => ("invalid-token", "The token is not valid."),
    };
}
