using System.Text.RegularExpressions;
using Edge.Configuration;
using Edge.Sse;

namespace Edge.Streams;

/// <summary>A validated stream, with its fixed frames encoded once.</summary>
internal sealed partial class StreamDefinition
{
    public StreamDefinition(string name, StreamOptions options)
    {
        Name = name;
        Options = options;
        Path = options.Path!;
        Hello = options.Hello.Event is { } helloEvent
            ? SseFrameEncoder.Event(helloEvent, options.Hello.Data ?? string.Empty)
            : options.Hello.Comment is { } helloComment ? SseFrameEncoder.Comment(helloComment) : [];
        if (options.Retry is { } retry)
        {
            Hello = [.. Hello, .. SseFrameEncoder.Retry(retry)];
        }

        HeartbeatInterval = options.Heartbeat.Interval;
        Heartbeat = PreparedEvent.Control(options.Heartbeat.Event is { } heartbeatEvent
            ? SseFrameEncoder.Event(heartbeatEvent, options.Heartbeat.Data ?? string.Empty)
            : SseFrameEncoder.Comment(options.Heartbeat.Comment ?? string.Empty));
        ChannelTemplates = options.Channels.Select(c => new ChannelTemplate(c)).ToArray();
    }

    public string Name { get; }

    public string Path { get; }

    public StreamOptions Options { get; }

    /// <summary>The first bytes of every stream: the hello and the optional <c>retry:</c>.</summary>
    public byte[] Hello { get; }

    public TimeSpan HeartbeatInterval { get; }

    public PreparedEvent Heartbeat { get; }

    public IReadOnlyList<ChannelTemplate> ChannelTemplates { get; }

    /// <summary>A default channel, possibly naming route values: <c>chat.{room}</c>.</summary>
    internal sealed partial class ChannelTemplate(string template)
    {
        private readonly string[] _parameters = PlaceholderRegex().Matches(template).Select(m => m.Groups[1].Value).ToArray();

        /// <summary>Whether the channel depends on the request's path (and so must be authorized).</summary>
        public bool IsParameterized => _parameters.Length > 0;

        public string Resolve(RouteValueDictionary routeValues)
        {
            if (_parameters.Length == 0)
            {
                return template;
            }

            return PlaceholderRegex().Replace(template, m => Convert.ToString(routeValues[m.Groups[1].Value], System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty);
        }

        [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}")]
        private static partial Regex PlaceholderRegex();
    }
}
