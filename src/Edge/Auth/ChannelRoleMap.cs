namespace Edge.Auth;

/// <summary>Channel patterns mapped to the roles that may read them (<c>Auth:ChannelRoles</c>).</summary>
internal sealed class ChannelRoleMap
{
    private readonly List<(ChannelGrant Pattern, string Text, string[] Roles)> _entries = [];

    public ChannelRoleMap(Dictionary<string, List<string>> channelRoles)
    {
        foreach (var (pattern, roles) in channelRoles)
        {
            var grant = new ChannelGrant();
            grant.Add(pattern);
            _entries.Add((grant, pattern, [.. roles]));
        }
    }

    /// <summary>Whether a role of the client names this channel: a role-gated channel is granted by the role itself.</summary>
    public bool GrantedByRole(string channel, IReadOnlySet<string> roles)
    {
        var matched = false;
        foreach (var (pattern, _, _) in _entries)
        {
            if (pattern.Allows(channel))
            {
                matched = true;
                break;
            }
        }

        return matched && MissingRoles(channel, roles) is null;
    }

    /// <summary>Null when <paramref name="roles"/> may read <paramref name="channel"/>; otherwise the roles it needs.</summary>
    public string[]? MissingRoles(string channel, IReadOnlySet<string> roles)
    {
        foreach (var (pattern, _, required) in _entries)
        {
            if (!pattern.Allows(channel))
            {
                continue;
            }

            var any = false;
            foreach (var role in required)
            {
                if (roles.Contains(role))
                {
                    any = true;
                    break;
                }
            }

            if (!any)
            {
                return required;
            }
        }

        return null;
    }
}
