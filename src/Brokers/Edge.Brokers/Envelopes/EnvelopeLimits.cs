namespace Edge.Brokers.Envelopes;

/// <summary>Bounds on envelope fields; values that would break SSE framing are never accepted.</summary>
public static class EnvelopeLimits
{
    public const int MaxChannelLength = 256;
    public const int MaxEventLength = 128;
    public const int MaxIdLength = 128;
    public const int MaxIdentityLength = 256;

    /// <summary>Longest <c>retry</c> accepted: one day, in milliseconds.</summary>
    public const int MaxRetryMilliseconds = 86_400_000;

    /// <summary>
    /// True when <paramref name="value"/> holds no control character (CR, LF and NUL included),
    /// so it can be written on an SSE field line or a header.
    /// </summary>
    public static bool IsLineSafe(string value)
    {
        foreach (var c in value)
        {
            if (c < 0x20 || c == 0x7F || c is '\u2028' or '\u2029' or '\u0085')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Checks a channel name: 1 to 256 line-safe characters, no comma (it separates channels in
    /// a query) and no surrounding spaces. Returns the reason, or null when valid.
    /// </summary>
    public static string? CheckChannel(string? channel)
    {
        if (CheckListValue(channel, MaxChannelLength) is { } problem)
        {
            return problem;
        }

        if (channel!.Trim().Length != channel.Length)
        {
            return "must not start or end with whitespace";
        }

        return null;
    }

    /// <summary>Checks a user or session id. Returns the reason, or null when valid.</summary>
    public static string? CheckIdentity(string? value) => CheckListValue(value, MaxIdentityLength);

    /// <summary>The rules channels and ids share: non-empty, bounded, line-safe, no comma (it separates values in a query).</summary>
    private static string? CheckListValue(string? value, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "must be a non-empty string";
        }

        if (value.Length > maxLength)
        {
            return $"must be at most {maxLength} characters";
        }

        if (!IsLineSafe(value))
        {
            return "must not contain control characters (CR, LF, NUL, ...)";
        }

        if (value.Contains(','))
        {
            return "must not contain ','";
        }

        return null;
    }
}
