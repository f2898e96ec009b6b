namespace Edge.RateLimiting;

/// <summary>Checks rate-limit policies, naming each key.</summary>
internal static class RateLimitingValidator
{
    public static void Validate(EdgeRateLimitingOptions options, List<string> errors)
    {
        foreach (var (name, policy) in options.Policies)
        {
            var key = $"Edge:RateLimiting:Policies:{name}";
            if (!Enum.IsDefined(policy.Kind))
            {
                errors.Add($"{key}:Kind must be FixedWindow, SlidingWindow, TokenBucket or Concurrency.");
            }

            if (policy.QueueLimit < 0)
            {
                errors.Add($"{key}:QueueLimit must not be negative.");
            }

            switch (policy.Kind)
            {
                case RateLimitKind.FixedWindow or RateLimitKind.SlidingWindow:
                    if (policy.PermitLimit < 1)
                    {
                        errors.Add($"{key}:PermitLimit must be at least 1.");
                    }

                    if (policy.Window <= TimeSpan.Zero)
                    {
                        errors.Add($"{key}:Window must be positive.");
                    }

                    if (policy.Kind == RateLimitKind.SlidingWindow && policy.SegmentsPerWindow < 1)
                    {
                        errors.Add($"{key}:SegmentsPerWindow must be at least 1.");
                    }

                    break;
                case RateLimitKind.TokenBucket:
                    if (policy.TokenLimit < 1)
                    {
                        errors.Add($"{key}:TokenLimit must be at least 1.");
                    }

                    if (policy.TokensPerPeriod < 1)
                    {
                        errors.Add($"{key}:TokensPerPeriod must be at least 1.");
                    }

                    if (policy.ReplenishmentPeriod <= TimeSpan.Zero)
                    {
                        errors.Add($"{key}:ReplenishmentPeriod must be positive.");
                    }

                    break;
                case RateLimitKind.Concurrency:
                    if (policy.PermitLimit < 1)
                    {
                        errors.Add($"{key}:PermitLimit must be at least 1.");
                    }

                    break;
            }
        }
    }
}
