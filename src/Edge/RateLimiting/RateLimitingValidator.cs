using Edge.Configuration;

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

            OptionChecks.NotNegative(policy.QueueLimit, $"{key}:QueueLimit", errors);

            switch (policy.Kind)
            {
                case RateLimitKind.FixedWindow or RateLimitKind.SlidingWindow:
                    OptionChecks.AtLeast(policy.PermitLimit, 1, $"{key}:PermitLimit", errors);
                    OptionChecks.Positive(policy.Window, $"{key}:Window", errors);
                    if (policy.Kind == RateLimitKind.SlidingWindow)
                    {
                        OptionChecks.AtLeast(policy.SegmentsPerWindow, 1, $"{key}:SegmentsPerWindow", errors);
                    }

                    break;
                case RateLimitKind.TokenBucket:
                    OptionChecks.AtLeast(policy.TokenLimit, 1, $"{key}:TokenLimit", errors);
                    OptionChecks.AtLeast(policy.TokensPerPeriod, 1, $"{key}:TokensPerPeriod", errors);
                    OptionChecks.Positive(policy.ReplenishmentPeriod, $"{key}:ReplenishmentPeriod", errors);
                    break;
                case RateLimitKind.Concurrency:
                    OptionChecks.AtLeast(policy.PermitLimit, 1, $"{key}:PermitLimit", errors);
                    break;
            }
        }
    }
}
