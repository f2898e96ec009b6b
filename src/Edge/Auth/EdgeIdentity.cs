namespace Edge.Auth;

/// <summary>Who a client is, as the auth step established it.</summary>
/// <param name="UserId">The user, or null for an anonymous visitor.</param>
/// <param name="VouchedSessionIds">Session ids the credentials vouch for (JWT claim, forward header); null in Anonymous mode, where any is taken.</param>
/// <param name="Channels">Channels the client may request; null means unrestricted (Anonymous mode).</param>
/// <param name="Roles">The client's roles.</param>
/// <param name="ExpiresAt">When the credentials expire, if they do.</param>
/// <param name="Authenticated">Whether credentials were checked (Jwt or Forward) rather than taken from the request.</param>
internal sealed record EdgeIdentity(
    string? UserId,
    IReadOnlyList<string>? VouchedSessionIds,
    ChannelGrant? Channels,
    IReadOnlySet<string> Roles,
    DateTimeOffset? ExpiresAt,
    bool Authenticated)
{
    public static readonly IReadOnlySet<string> NoRoles = new HashSet<string>(StringComparer.Ordinal);

    public static EdgeIdentity AnonymousVisitor { get; } = new(null, [], new ChannelGrant(), NoRoles, null, Authenticated: false);
}
