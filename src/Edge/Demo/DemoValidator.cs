using Edge.Brokers.Envelopes;
using Edge.Configuration;

namespace Edge.Demo;

/// <summary>Checks <c>Edge:Demo</c> at start: the folder holds the page, the stream takes channels from the query, the channels are valid.</summary>
internal static class DemoValidator
{
    public const string IndexFile = "index.html";

    public static void Validate(EdgeOptions options, List<string> errors)
    {
        var demo = options.Demo;
        if (!demo.Enabled)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(demo.Path) || !demo.Path.StartsWith('/'))
        {
            errors.Add("Edge:Demo:Path must be a path starting with '/'.");
        }
        else if (demo.Path.StartsWith(DemoOptions.AssetsPath, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"Edge:Demo:Path '{demo.Path}' must lie outside {DemoOptions.AssetsPath}, where the demo's assets are.");
        }

        if (string.IsNullOrWhiteSpace(demo.Folder))
        {
            errors.Add("Edge:Demo:Folder must name the folder with the demo's index.html.");
        }
        else if (!File.Exists(System.IO.Path.Combine(demo.FullFolder, IndexFile)))
        {
            errors.Add($"Edge:Demo:Folder: '{demo.FullFolder}' holds no {IndexFile}; build the edge (dotnet build src/Edge copies src/Edge/Demo/wwwroot there) or set Edge:Demo:Enabled to false.");
        }

        if (!options.Streams.TryGetValue(demo.Stream ?? string.Empty, out var stream))
        {
            errors.Add($"Edge:Demo:Stream '{demo.Stream}' is not a stream under Edge:Streams.");
        }
        else if (string.IsNullOrEmpty(stream.ChannelsQuery) || (stream.Path?.Contains('{', StringComparison.Ordinal) ?? false))
        {
            errors.Add($"Edge:Demo:Stream '{demo.Stream}' must take its channels from the query (Edge:Streams:{demo.Stream}:ChannelsQuery) and have a path without route values.");
        }

        for (var i = 0; i < demo.Channels.Count; i++)
        {
            if (EnvelopeLimits.CheckChannel(demo.Channels[i]) is { } problem)
            {
                errors.Add($"Edge:Demo:Channels:{i} {problem}.");
            }
            else if (demo.Channels[i].StartsWith("user:", StringComparison.Ordinal) || demo.Channels[i].StartsWith("session:", StringComparison.Ordinal))
            {
                errors.Add($"Edge:Demo:Channels:{i} '{demo.Channels[i]}' is a personal channel; the demo publishes only to shared ones.");
            }
        }

        if (!demo.EffectiveChannels.Contains(demo.ChatChannel, StringComparer.Ordinal))
        {
            errors.Add($"Edge:Demo:ChatChannel '{demo.ChatChannel}' must be one of Edge:Demo:Channels ({string.Join(", ", demo.EffectiveChannels)}).");
        }
    }
}
