namespace Edge.Limits;

/// <summary>Checks connection limits, naming each key.</summary>
internal static class LimitsValidator
{
    public static void Validate(ConnectionLimitOptions limits, List<string> errors)
    {
        if (limits.MaxConnections < 0)
        {
            errors.Add("Edge:Limits:MaxConnections must not be negative (zero means no limit).");
        }

        if (limits.MaxConnectionsPerUser < 0)
        {
            errors.Add("Edge:Limits:MaxConnectionsPerUser must not be negative (zero means no limit).");
        }

        if (limits.MaxConnectionsPerIp < 0)
        {
            errors.Add("Edge:Limits:MaxConnectionsPerIp must not be negative (zero means no limit).");
        }

        if (limits.RetryAfterSeconds < 1)
        {
            errors.Add("Edge:Limits:RetryAfterSeconds must be at least 1.");
        }

        if (limits.ReplacedRetryMilliseconds < 0)
        {
            errors.Add("Edge:Limits:ReplacedRetryMilliseconds must not be negative.");
        }
    }

    public static void ValidateStream(string key, StreamLimitOptions limits, List<string> errors)
    {
        if (limits.MaxConnectionsPerUser < 0)
        {
            errors.Add($"{key}:Limits:MaxConnectionsPerUser must not be negative (zero means no limit).");
        }

        if (!Enum.IsDefined(limits.AtLimit))
        {
            errors.Add($"{key}:Limits:AtLimit must be Reject or CloseOldest.");
        }
    }
}
