namespace Edge.Configuration;

/// <summary>The bounds checks the validators share; each adds one error naming its key.</summary>
internal static class OptionChecks
{
    public static void AtLeast(long value, long min, string key, List<string> errors)
    {
        if (value < min)
        {
            errors.Add($"{key} must be at least {min}.");
        }
    }

    /// <param name="zeroMeans">When set, the error says in parentheses what zero means, e.g. "zero means no limit".</param>
    public static void NotNegative(long value, string key, List<string> errors, string? zeroMeans = null)
    {
        if (value < 0)
        {
            errors.Add(NegativeError(key, zeroMeans));
        }
    }

    /// <inheritdoc cref="NotNegative(long, string, List{string}, string?)"/>
    public static void NotNegative(TimeSpan value, string key, List<string> errors, string? zeroMeans = null)
    {
        if (value < TimeSpan.Zero)
        {
            errors.Add(NegativeError(key, zeroMeans));
        }
    }

    public static void Positive(TimeSpan value, string key, List<string> errors)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be positive.");
        }
    }

    private static string NegativeError(string key, string? zeroMeans) =>
        zeroMeans is null ? $"{key} must not be negative." : $"{key} must not be negative ({zeroMeans}).";
}
