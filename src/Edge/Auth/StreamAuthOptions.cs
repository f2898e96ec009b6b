namespace Edge.Auth;

/// <summary>Authentication and channel authorization of one stream (<c>Edge:Streams:{name}:Auth</c>).</summary>
public sealed class StreamAuthOptions
{
    /// <summary><c>Anonymous</c> (default), <c>Jwt</c> or <c>Forward</c>.</summary>
    public AuthMode Mode { get; set; } = AuthMode.Anonymous;

    /// <summary>
    /// In <c>Jwt</c> or <c>Forward</c> mode, admit a client that presents no credentials at all as an
    /// anonymous visitor (no user, no roles, no personal channels). Default false.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    public JwtAuthOptions Jwt { get; set; } = new();

    public ForwardAuthOptions Forward { get; set; } = new();

    /// <summary>
    /// Channel patterns (exact names or <c>prefix.*</c>) mapped to the roles that may read them, any
    /// one of which suffices, e.g. <c>{"notify.i18n_debug": ["admin"]}</c>. A requested channel the
    /// client lacks the role for is answered 403; a stream default channel is silently left out.
    /// Holding the role grants the channel even when the channels claim does not list it.
    /// </summary>
    public Dictionary<string, List<string>> ChannelRoles { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Close the stream when the credentials expire (JWT <c>exp</c>). Default true.</summary>
    public bool CloseAtExpiry { get; set; } = true;
}
