using Edge.Brokers.Envelopes;
using Edge.Configuration;

namespace Edge.Auth;

/// <summary>Checks auth options, naming each key.</summary>
internal static class AuthOptionsValidator
{
    public static void Validate(string key, StreamAuthOptions auth, List<string> errors)
    {
        if (!Enum.IsDefined(auth.Mode))
        {
            errors.Add($"{key}:Mode must be Anonymous, Jwt or Forward.");
        }

        if (auth.Mode == AuthMode.Jwt)
        {
            ValidateJwt($"{key}:Jwt", auth.Jwt, errors);
        }

        if (auth.Mode == AuthMode.Forward)
        {
            ValidateForward($"{key}:Forward", auth.Forward, errors);
        }

        foreach (var (pattern, roles) in auth.ChannelRoles)
        {
            if (pattern.Length == 0 || (pattern.Contains('*', StringComparison.Ordinal) && !(pattern.EndsWith(".*", StringComparison.Ordinal) && pattern.IndexOf('*', StringComparison.Ordinal) == pattern.Length - 1 && pattern.Length > 2)))
            {
                errors.Add($"{key}:ChannelRoles:{pattern} must be a channel name or a 'prefix.*' pattern.");
            }

            if (roles.Count == 0 || roles.Any(string.IsNullOrWhiteSpace))
            {
                errors.Add($"{key}:ChannelRoles:{pattern} must name at least one role.");
            }
        }

        if (auth.Mode == AuthMode.Anonymous && auth.ChannelRoles.Count > 0)
        {
            // Anonymous clients have no roles: role-gated channels are closed to everyone.
            errors.Add($"{key}:ChannelRoles needs {key}:Mode Jwt or Forward (anonymous clients have no roles).");
        }
    }

    public static void ValidateJwt(string key, JwtAuthOptions jwt, List<string> errors)
    {
        if (jwt.Secrets.Count == 0 && string.IsNullOrEmpty(jwt.JwksFile) && string.IsNullOrEmpty(jwt.JwksUrl))
        {
            errors.Add($"{key} needs signing keys: Secrets (HS256), JwksFile or JwksUrl.");
        }

        for (var i = 0; i < jwt.Secrets.Count; i++)
        {
            try
            {
                if (JwtAuthenticator.DecodeSecret(jwt.Secrets[i] ?? string.Empty).Length < 32)
                {
                    errors.Add($"{key}:Secrets:{i} must be at least 32 bytes (256 bits) for HS256.");
                }
            }
            catch (FormatException)
            {
                errors.Add($"{key}:Secrets:{i} starts with 'base64:' but is not valid base64.");
            }
        }

        if (!string.IsNullOrEmpty(jwt.JwksFile) && !File.Exists(jwt.JwksFile))
        {
            errors.Add($"{key}:JwksFile '{jwt.JwksFile}' does not exist.");
        }

        if (!string.IsNullOrEmpty(jwt.JwksUrl) && (!Uri.TryCreate(jwt.JwksUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            errors.Add($"{key}:JwksUrl '{jwt.JwksUrl}' is not an http:// or https:// URL.");
        }

        OptionChecks.Positive(jwt.JwksRefresh, $"{key}:JwksRefresh", errors);

        if (jwt.ClockSkew < TimeSpan.Zero || jwt.ClockSkew > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{key}:ClockSkew must be between 0 and 5 minutes.");
        }

        if (jwt.Algorithms.Count == 0 || jwt.Algorithms.Any(a => a is null || string.Equals(a, "none", StringComparison.OrdinalIgnoreCase)))
        {
            errors.Add($"{key}:Algorithms must list signature algorithms (e.g. HS256, RS256, ES256); 'none' is never accepted.");
        }

        if (!jwt.FromHeader && string.IsNullOrEmpty(jwt.QueryParameter) && string.IsNullOrEmpty(jwt.Cookie))
        {
            errors.Add($"{key} reads the token from nowhere: enable FromHeader, QueryParameter or Cookie.");
        }

        foreach (var (name, value) in new[] { ("UserIdClaim", jwt.UserIdClaim), ("SessionIdClaim", jwt.SessionIdClaim), ("ChannelsClaim", jwt.ChannelsClaim), ("RolesClaim", jwt.RolesClaim) })
        {
            if (string.IsNullOrWhiteSpace(value) || !EnvelopeLimits.IsLineSafe(value))
            {
                errors.Add($"{key}:{name} must be a claim name.");
            }
        }
    }

    private static void ValidateForward(string key, ForwardAuthOptions forward, List<string> errors)
    {
        if (string.IsNullOrEmpty(forward.Url) || !Uri.TryCreate(forward.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.Add($"{key}:Url is required in Forward mode and must be an http:// or https:// URL.");
        }

        OptionChecks.NotNegative(forward.CacheDuration, $"{key}:CacheDuration", errors, "zero disables the cache");
        OptionChecks.AtLeast(forward.CacheSize, 1, $"{key}:CacheSize", errors);
        OptionChecks.Positive(forward.Timeout, $"{key}:Timeout", errors);

        for (var i = 0; i < forward.Headers.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(forward.Headers[i]) || !EnvelopeLimits.IsLineSafe(forward.Headers[i]))
            {
                errors.Add($"{key}:Headers:{i} must be a header name.");
            }
        }
    }
}
