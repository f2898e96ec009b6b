using System.Security.Cryptography;
using System.Text;

namespace Edge.Http;

/// <summary>
/// A set of API keys, checked in constant time against the key a request presents in
/// <c>Authorization: Bearer</c> or <c>X-Edge-Key</c> (publish API, metrics, admin calls).
/// </summary>
internal sealed class ApiKeys
{
    public const string KeyHeader = "X-Edge-Key";

    private readonly byte[][] _keys;

    public ApiKeys(IEnumerable<string> keys) => _keys = keys.Select(Encoding.UTF8.GetBytes).ToArray();

    public bool IsEmpty => _keys.Length == 0;

    /// <summary>The key or token the request presents, or null.</summary>
    public static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim() is { Length: > 0 } bearer ? bearer : null;
        }

        return request.Headers.TryGetValue(KeyHeader, out var key) && key.ToString() is { Length: > 0 } value ? value : null;
    }

    /// <summary>Whether <paramref name="presented"/> is one of the keys (every key is compared, in constant time).</summary>
    public bool Contains(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        var presentedBytes = Encoding.UTF8.GetBytes(presented);
        var match = false;
        foreach (var expected in _keys)
        {
            match |= CryptographicOperations.FixedTimeEquals(presentedBytes, expected);
        }

        return match;
    }
}
