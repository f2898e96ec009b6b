using System.Net;
using System.Text.Json;
using Edge.Brokers.Envelopes;
using Edge.Configuration;
using Edge.Http;
using Edge.Publishing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Edge.Demo;

/// <summary>
/// The demo: its page, its assets from <c>Edge:Demo:Folder</c>, the settings the page reads, and
/// two ways to publish without a key, both limited to <c>Edge:Demo:Channels</c>: envelopes
/// (<c>/_edge/demo/publish</c>) and the chat form (<c>/_edge/demo/chat</c>, an HTML fragment).
/// </summary>
internal sealed class DemoEndpoints
{
    public const string SettingsPath = DemoOptions.AssetsPath + "/settings";
    public const string PublishPath = DemoOptions.AssetsPath + "/publish";
    public const string ChatPath = DemoOptions.AssetsPath + "/chat";

    private const int MaxChatName = 40;
    private const int MaxChatText = 500;

    private readonly DemoOptions _demo;
    private readonly PhysicalFileProvider _files;
    private readonly FileExtensionContentTypeProvider _contentTypes = new();
    private readonly PublishEndpoint _publish;
    private readonly HashSet<string> _channels;
    private readonly byte[] _settings;

    public DemoEndpoints(IOptions<EdgeOptions> options, PublishEndpoint publish)
    {
        var edge = options.Value;
        _demo = edge.Demo;
        _files = new PhysicalFileProvider(_demo.FullFolder);
        _publish = publish;
        _channels = new HashSet<string>(_demo.EffectiveChannels, StringComparer.Ordinal);
        var stream = edge.Streams[_demo.Stream];
        _settings = JsonSerializer.SerializeToUtf8Bytes(new
        {
            stream = stream.Path,
            channelsQuery = stream.ChannelsQuery,
            sessionIdQuery = stream.Identity.SessionIdQuery,
            channels = _demo.EffectiveChannels,
            chatChannel = _demo.ChatChannel,
            publishPath = PublishPath,
            chatPath = ChatPath,
        });
    }

    public Task PageAsync(HttpContext context) => SendFileAsync(context, DemoValidator.IndexFile);

    public Task AssetAsync(HttpContext context, string file) => SendFileAsync(context, file);

    public Task SettingsAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.Body.WriteAsync(_settings, context.RequestAborted).AsTask();
    }

    public async Task PublishAsync(HttpContext context)
    {
        if (await _publish.IsPostAsync(context).ConfigureAwait(false))
        {
            await _publish.AcceptAsync(context, RefuseOtherChannels).ConfigureAwait(false);
        }
    }

    /// <summary>The chat form (<c>name</c>, <c>message</c>): one escaped HTML fragment on the chat channel, as the seed's htmx chat room sends.</summary>
    public async Task ChatAsync(HttpContext context)
    {
        if (!await _publish.IsPostAsync(context).ConfigureAwait(false))
        {
            return;
        }

        if (!context.Request.HasFormContentType)
        {
            await ProblemResponses.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, "Form expected", "Send the chat form as application/x-www-form-urlencoded with 'name' and 'message'.").ConfigureAwait(false);
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var name = form["name"].ToString().Trim();
        var message = form["message"].ToString().Trim();
        if (message.Length == 0 || message.Length > MaxChatText || name.Length > MaxChatName)
        {
            await ProblemResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "Invalid chat message", $"'message' must have 1 to {MaxChatText} characters and 'name' at most {MaxChatName}.").ConfigureAwait(false);
            return;
        }

        var fragment = $"<div class=\"chat-line\"><b>{WebUtility.HtmlEncode(name.Length == 0 ? "guest" : name)}</b> {WebUtility.HtmlEncode(message)}</div>";
        await _publish.PublishAsync(context, [new EventEnvelope { Channel = _demo.ChatChannel, Data = EnvelopeData.FromText(fragment) }]).ConfigureAwait(false);
    }

    private EnvelopeError? RefuseOtherChannels(EventEnvelope envelope) =>
        _channels.Contains(envelope.Channel) ? null : new EnvelopeError("channel", $"'{Truncate(envelope.Channel)}' is not a demo channel; the demo publishes only to {string.Join(", ", _demo.EffectiveChannels)} (Edge:Demo:Channels). Use the publish API with a key for anything else.");

    private static string Truncate(string value) => value.Length <= 100 ? value : value[..100];

    private async Task SendFileAsync(HttpContext context, string file)
    {
        var info = _files.GetFileInfo(file);
        if (!info.Exists || info.IsDirectory)
        {
            await ProblemResponses.WriteAsync(context, StatusCodes.Status404NotFound, "Not found", "The demo has no such file.").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = _contentTypes.TryGetContentType(file, out var type) ? type : "application/octet-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.ContentLength = info.Length;
        await context.Response.SendFileAsync(info, context.RequestAborted).ConfigureAwait(false);
    }
}
