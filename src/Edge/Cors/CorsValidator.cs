using Edge.Brokers.Envelopes;
using Edge.Configuration;

namespace Edge.Cors;

/// <summary>Checks CORS policies, naming each key; never <c>*</c> with credentials.</summary>
internal static class CorsValidator
{
    public static void Validate(EdgeCorsOptions options, List<string> errors)
    {
        foreach (var (name, policy) in options.Policies)
        {
            var key = $"Edge:Cors:Policies:{name}";
            if (policy.Origins.Count == 0)
            {
                errors.Add($"{key}:Origins must name at least one origin (e.g. https://app.example.com).");
            }

            for (var i = 0; i < policy.Origins.Count; i++)
            {
                var origin = policy.Origins[i];
                if (origin == "*")
                {
                    if (policy.AllowCredentials)
                    {
                        errors.Add($"{key}:Origins:{i} is '*' while {key}:AllowCredentials is true; browsers refuse that, and it would let any site read credentialed streams. Name the origins.");
                    }

                    continue;
                }

                if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/" || origin.EndsWith('/'))
                {
                    errors.Add($"{key}:Origins:{i} '{origin}' must be an origin such as https://app.example.com (scheme, host, optional port; no path).");
                }
            }

            Check(policy.AllowedHeaders, $"{key}:AllowedHeaders", errors);
            Check(policy.ExposedHeaders, $"{key}:ExposedHeaders", errors);
            Check(policy.Methods, $"{key}:Methods", errors);
            OptionChecks.NotNegative(policy.PreflightMaxAge, $"{key}:PreflightMaxAge", errors);
        }
    }

    private static void Check(List<string> values, string key, List<string> errors)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(values[i]) || !EnvelopeLimits.IsLineSafe(values[i]) || values[i].Contains(',', StringComparison.Ordinal))
            {
                errors.Add($"{key}:{i} must be a single header or method name.");
            }
        }
    }
}
