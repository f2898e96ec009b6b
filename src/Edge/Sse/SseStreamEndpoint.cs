using System.Globalization;
using Edge.Brokers;
using Edge.Brokers.Envelopes;
using Edge.Configuration;
using Edge.Diagnostics;
using Edge.Http;
using Edge.Hub;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Edge.Sse;

/// <summary>Serves one SSE stream request from hello to close.</summary>
internal sealed partial class SseStreamEndpoint
{
    private const string LastEventIdHeader = "Last-Event-ID";
    private const string LastEventIdQuery = "lastEventId";

    private readonly EventHub _hub;
    private readonly EdgeMetrics _metrics;
    private readonly ShutdownOptions _shutdown;
    private readonly ILogger<SseStreamEndpoint> _logger;
    private readonly byte[] _shutdownFrame;

    public SseStreamEndpoint(EventHub hub, EdgeMetrics metrics, IOptions<EdgeOptions> options, ILogger<SseStreamEndpoint> logger)
    {
        _hub = hub;
        _metrics = metrics;
        _shutdown = options.Value.Shutdown;
        _logger = logger;
        _shutdownFrame = SseFrameEncoder.Retry(_shutdown.RetryHintMilliseconds);
    }

    public async Task HandleAsync(HttpContext context, StreamDefinition stream)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.Headers.Allow = "GET";
            await RejectAsync(context, stream, StatusCodes.Status405MethodNotAllowed, "Method not allowed", $"{stream.Path} is an event stream; use GET.").ConfigureAwait(false);
            return;
        }

        if (_hub.IsDraining || !_hub.IsOpen)
        {
            var detail = _hub.IsDraining ? "The edge is shutting down; reconnect to another instance." : "The broker is not reachable yet.";
            await RejectAsync(context, stream, StatusCodes.Status503ServiceUnavailable, "Stream unavailable", detail, retryAfter: TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            return;
        }

        if (!TryResolveIdentity(context, stream.Options.Identity.UserIdQuery, stream.Options.Identity.UserIdHeader, out var userId, out var problem)
            || !TryResolveIdentity(context, stream.Options.Identity.SessionIdQuery, stream.Options.Identity.SessionIdHeader, out var sessionId, out problem))
        {
            await RejectAsync(context, stream, StatusCodes.Status400BadRequest, "Invalid identity", problem!).ConfigureAwait(false);
            return;
        }

        var (channels, status, channelProblem) = ResolveChannels(context, stream, userId, sessionId);
        if (channels is null)
        {
            await RejectAsync(context, stream, status, status == StatusCodes.Status403Forbidden ? "Channel not allowed" : "Invalid channels", channelProblem!).ConfigureAwait(false);
            return;
        }

        var cursorText = ReadCursor(context.Request);

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var connection = _hub.Connect(stream, userId, sessionId, channels, response.BodyWriter);
        var aborted = context.RequestAborted;
        Log.StreamOpened(_logger, connection.Id, stream.Name, channels.Count);
        try
        {
            connection.WriteRaw(stream.Hello);
            await connection.FlushAsync(aborted).ConfigureAwait(false);

            var wroteCursor = false;
            if (cursorText is not null && stream.Options.Replay)
            {
                ReplayPlan plan;
                try
                {
                    plan = await _hub.PlanReplayAsync(connection, cursorText, aborted).ConfigureAwait(false);
                }
                catch (BrokerUnavailableException)
                {
                    // Nothing is skipped: the client comes back later with the same cursor.
                    connection.WriteRaw(_shutdownFrame);
                    await connection.FlushAsync(aborted).ConfigureAwait(false);
                    return;
                }

                if (plan.GapReason is { } reason)
                {
                    _metrics.Gap();
                    Log.GapSignalled(_logger, connection.Id, stream.Name, reason);
                    connection.WriteRaw(SseFrameEncoder.Event(stream.Options.GapEvent, $$"""{"reason":"{{reason}}"}""", connection.Cursor));
                    wroteCursor = true;
                }

                var written = 0;
                foreach (var item in plan.Events)
                {
                    if (connection.Write(item))
                    {
                        written++;
                        if (written % 256 == 0)
                        {
                            await connection.FlushAsync(aborted).ConfigureAwait(false);
                        }
                    }
                }

                if (written > 0)
                {
                    _metrics.Delivered(written);
                    wroteCursor = true;
                }
            }

            if (!wroteCursor && stream.Options.SendInitialCursor)
            {
                connection.WriteRaw(SseFrameEncoder.IdOnly(connection.Cursor));
            }

            await connection.FlushAsync(aborted).ConfigureAwait(false);
            await connection.PumpAsync(_metrics.Delivered, aborted).ConfigureAwait(false);

            switch (connection.CloseReason)
            {
                case CloseReason.Shutdown:
                    connection.WriteRaw(_shutdownFrame);
                    await connection.FlushAsync(aborted).ConfigureAwait(false);
                    break;
                case CloseReason.SlowConsumer:
                    _metrics.SlowConsumer();
                    Log.SlowConsumer(_logger, connection.Id, stream.Name, stream.Options.QueueCapacity);
                    context.Abort();
                    break;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException || aborted.IsCancellationRequested)
        {
            // The client went away: a normal ending.
        }
        finally
        {
            _hub.Disconnect(connection);
            Log.StreamClosed(_logger, connection.Id, stream.Name, connection.CloseReason);
        }
    }

    private static string? ReadCursor(HttpRequest request)
    {
        var header = request.Headers[LastEventIdHeader];
        if (!StringValues.IsNullOrEmpty(header) && header[0] is { Length: > 0 } fromHeader)
        {
            return fromHeader;
        }

        var query = request.Query[LastEventIdQuery];
        return !StringValues.IsNullOrEmpty(query) && query[0] is { Length: > 0 } fromQuery ? fromQuery : null;
    }

    private static bool TryResolveIdentity(HttpContext context, string? queryName, string? headerName, out string? value, out string? problem)
    {
        value = null;
        problem = null;
        string? fromQuery = null, fromHeader = null;
        if (!string.IsNullOrEmpty(queryName) && context.Request.Query.TryGetValue(queryName, out var q) && q.Count > 0 && !string.IsNullOrEmpty(q[0]))
        {
            fromQuery = q[0];
        }

        if (!string.IsNullOrEmpty(headerName) && context.Request.Headers.TryGetValue(headerName, out var h) && h.Count > 0 && !string.IsNullOrEmpty(h[0]))
        {
            fromHeader = h[0];
        }

        if (fromQuery is not null && fromHeader is not null && !string.Equals(fromQuery, fromHeader, StringComparison.Ordinal))
        {
            problem = $"The query parameter '{queryName}' and the header '{headerName}' disagree.";
            return false;
        }

        value = fromQuery ?? fromHeader;
        if (value is not null && EnvelopeLimits.CheckIdentity(value) is { } reason)
        {
            problem = $"'{(fromQuery is not null ? queryName : headerName)}' {reason}.";
            value = null;
            return false;
        }

        return true;
    }

    private static (List<string>? Channels, int Status, string? Problem) ResolveChannels(HttpContext context, StreamDefinition stream, string? userId, string? sessionId)
    {
        var channels = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var routeValues = context.Request.RouteValues;
        foreach (var template in stream.ChannelTemplates)
        {
            var channel = template.Resolve(routeValues);
            if (EnvelopeLimits.CheckChannel(channel) is { } reason)
            {
                return (null, StatusCodes.Status400BadRequest, $"The path gives the channel '{Printable(channel)}', which {reason}.");
            }

            if (seen.Add(channel))
            {
                channels.Add(channel);
            }
        }

        var queryName = stream.Options.ChannelsQuery;
        if (!string.IsNullOrEmpty(queryName) && context.Request.Query.TryGetValue(queryName, out var values))
        {
            var requested = 0;
            foreach (var value in values)
            {
                foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (++requested > stream.Options.MaxChannels)
                    {
                        return (null, StatusCodes.Status400BadRequest, string.Create(CultureInfo.InvariantCulture, $"At most {stream.Options.MaxChannels} channels may be requested in '{queryName}'."));
                    }

                    if (EnvelopeLimits.CheckChannel(part) is { } reason)
                    {
                        return (null, StatusCodes.Status400BadRequest, $"The channel '{Printable(part)}' in '{queryName}' {reason}.");
                    }

                    if (!IsOwnPersonalChannel(part, userId, sessionId))
                    {
                        return (null, StatusCodes.Status403Forbidden, $"The channel '{Printable(part)}' belongs to someone else.");
                    }

                    if (seen.Add(part))
                    {
                        channels.Add(part);
                    }
                }
            }
        }

        if (userId is not null && seen.Add(EventEnvelope.UserChannel(userId)))
        {
            channels.Add(EventEnvelope.UserChannel(userId));
        }

        if (sessionId is not null && seen.Add(EventEnvelope.SessionChannel(sessionId)))
        {
            channels.Add(EventEnvelope.SessionChannel(sessionId));
        }

        return (channels, StatusCodes.Status200OK, null);
    }

    private static bool IsOwnPersonalChannel(string channel, string? userId, string? sessionId)
    {
        if (channel.StartsWith("user:", StringComparison.Ordinal))
        {
            return userId is not null && string.Equals(channel, EventEnvelope.UserChannel(userId), StringComparison.Ordinal);
        }

        if (channel.StartsWith("session:", StringComparison.Ordinal))
        {
            return sessionId is not null && string.Equals(channel, EventEnvelope.SessionChannel(sessionId), StringComparison.Ordinal);
        }

        return true;
    }

    /// <summary>Client text quoted in an answer, with control characters shown escaped and length bounded.</summary>
    private static string Printable(string value)
    {
        var text = value.Length > 100 ? value[..100] + "…" : value;
        return EnvelopeLimits.IsLineSafe(text) ? text : System.Text.Json.JsonEncodedText.Encode(text).ToString();
    }

    private async Task RejectAsync(HttpContext context, StreamDefinition stream, int status, string title, string detail, TimeSpan? retryAfter = null)
    {
        _metrics.StreamRejected();
        Log.StreamRejected(_logger, stream.Name, status, detail);
        await ProblemResponses.WriteAsync(context, status, title, detail, retryAfter: retryAfter).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.StreamOpened, Level = LogLevel.Debug, Message = "Stream {ConnectionId} opened on {Stream} with {Channels} channel(s)")]
        public static partial void StreamOpened(ILogger logger, long connectionId, string stream, int channels);

        [LoggerMessage(EventId = EdgeEventIds.StreamClosed, Level = LogLevel.Debug, Message = "Stream {ConnectionId} on {Stream} closed ({Reason})")]
        public static partial void StreamClosed(ILogger logger, long connectionId, string stream, CloseReason reason);

        [LoggerMessage(EventId = EdgeEventIds.SlowConsumerClosed, Level = LogLevel.Warning, Message = "Stream {ConnectionId} on {Stream} closed: the client fell {Capacity} events behind (slow consumer); it will resume from its cursor")]
        public static partial void SlowConsumer(ILogger logger, long connectionId, string stream, int capacity);

        [LoggerMessage(EventId = EdgeEventIds.StreamRejected, Level = LogLevel.Information, Message = "Stream request on {Stream} refused with {Status}: {Detail}")]
        public static partial void StreamRejected(ILogger logger, string stream, int status, string detail);

        [LoggerMessage(EventId = EdgeEventIds.GapSignalled, Level = LogLevel.Information, Message = "Stream {ConnectionId} on {Stream} resumed with a gap: {Reason}")]
        public static partial void GapSignalled(ILogger logger, long connectionId, string stream, string reason);
    }
}
