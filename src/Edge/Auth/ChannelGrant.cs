namespace Edge.Auth;

/// <summary>A set of channel patterns: exact names and <c>prefix.*</c> (everything below <c>prefix.</c>).</summary>
internal sealed class ChannelGrant
{
    private readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    private readonly List<string> _prefixes = [];

    public static ChannelGrant Parse(IEnumerable<string> values)
    {
        var grant = new ChannelGrant();
        foreach (var value in values)
        {
            foreach (var part in value.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                grant.Add(part);
            }
        }

        return grant;
    }

    public int Count => _exact.Count + _prefixes.Count;

    public void Add(string pattern)
    {
        if (pattern.EndsWith(".*", StringComparison.Ordinal) && pattern.Length > 2)
        {
            // "orders.*" grants "orders.eu" and "orders.eu.x", never "orders" or "ordersX".
            _prefixes.Add(pattern[..^1]);
        }
        else if (pattern != "*" && !pattern.Contains('*', StringComparison.Ordinal))
        {
            _exact.Add(pattern);
        }

        // A bare "*" or any other wildcard is ignored: grants are exact names or prefixes only.
    }

    /// <summary>Whether <paramref name="channel"/> (a literal channel name, never a pattern) is granted.</summary>
    public bool Allows(string channel)
    {
        if (_exact.Contains(channel))
        {
            return true;
        }

        foreach (var prefix in _prefixes)
        {
            if (channel.Length > prefix.Length && channel.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
