namespace Edge.Demo;

/// <summary>
/// <c>Edge:Demo</c>: pages the edge serves itself so a newcomer sees live events with no
/// application behind it. On in <c>config/edge.json</c>, off by default and in every
/// production configuration.
/// </summary>
public sealed class DemoOptions
{
    /// <summary>Where the demo's assets and endpoints live; the page itself is <see cref="Path"/>.</summary>
    public const string AssetsPath = "/_edge/demo";

    /// <summary>Serve the demo. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The page's path. Default <c>/</c>: it wins over a catch-all proxy route for that one path.</summary>
    public string Path { get; set; } = "/";

    /// <summary>
    /// The folder with <c>index.html</c> and the vendored scripts; a relative path is relative to the
    /// edge's program folder, where the build copies <c>src/Edge/Demo/wwwroot</c>. Default <c>demo</c>.
    /// </summary>
    public string Folder { get; set; } = "demo";

    /// <summary>The stream the page reads (its name under <c>Edge:Streams</c>); it must take channels from the query. Default <c>events</c>.</summary>
    public string Stream { get; set; } = "events";

    /// <summary>
    /// The only channels the page's publish endpoint (<c>/_edge/demo/publish</c>, no key) accepts, so
    /// the demo never opens the publish API. Default <c>orders</c>, <c>chat.lobby</c>, <c>tasks.demo</c>, <c>documents</c>, <c>notify.i18n_debug</c>.
    /// </summary>
    public List<string> Channels { get; set; } = [];

    /// <summary>The channel the chat form publishes to (one of <see cref="Channels"/>). Default <c>chat.lobby</c>.</summary>
    public string ChatChannel { get; set; } = "chat.lobby";

    /// <summary><see cref="Channels"/> with its default when none are configured.</summary>
    public IReadOnlyList<string> EffectiveChannels => Channels.Count > 0 ? Channels : DefaultChannels;

    public static IReadOnlyList<string> DefaultChannels { get; } = ["orders", "chat.lobby", "tasks.demo", "documents", "notify.i18n_debug"];

    /// <summary>The folder as a full path.</summary>
    public string FullFolder => System.IO.Path.GetFullPath(Folder, AppContext.BaseDirectory);
}
