using Edge.Configuration;

namespace Edge.Limits;

/// <summary>Checks connection limits, naming each key.</summary>
internal static class LimitsValidator
{
    public static void Validate(ConnectionLimitOptions limits, List<string> errors)
    {
        OptionChecks.NotNegative(limits.MaxConnections, "Edge:Limits:MaxConnections", errors, "zero means no limit");
        OptionChecks.NotNegative(limits.MaxConnectionsPerUser, "Edge:Limits:MaxConnectionsPerUser", errors, "zero means no limit");
        OptionChecks.NotNegative(limits.MaxConnectionsPerIp, "Edge:Limits:MaxConnectionsPerIp", errors, "zero means no limit");
        OptionChecks.AtLeast(limits.RetryAfterSeconds, 1, "Edge:Limits:RetryAfterSeconds", errors);
        OptionChecks.NotNegative(limits.ReplacedRetryMilliseconds, "Edge:Limits:ReplacedRetryMilliseconds", errors);
    }

    public static void ValidateStream(string key, StreamLimitOptions limits, List<string> errors)
    {
        OptionChecks.NotNegative(limits.MaxConnectionsPerUser, $"{key}:Limits:MaxConnectionsPerUser", errors, "zero means no limit");

        if (!Enum.IsDefined(limits.AtLimit))
        {
            errors.Add($"{key}:Limits:AtLimit must be Reject or CloseOldest.");
        }
    }
}
