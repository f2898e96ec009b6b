namespace Edge.Admin;

/// <summary><c>Edge:Admin</c>: the operator's calls (ending a user's or a session's streams on every instance).</summary>
public sealed class AdminOptions
{
    /// <summary>Path prefix of the admin calls. Default <c>/_edge/admin</c>.</summary>
    public string Path { get; set; } = "/_edge/admin";

    /// <summary>Keys an admin call must present (<c>Authorization: Bearer</c> or <c>X-Edge-Key</c>); without any, the admin calls are not served. Default none.</summary>
    public List<string> ApiKeys { get; set; } = [];
}
