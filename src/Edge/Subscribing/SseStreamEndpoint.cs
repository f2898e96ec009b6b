using System.Globalization;
using Edge.Auth;
using Edge.Brokers;
using Edge.Brokers.Envelopes;
using Edge.Configuration;
using Edge.Connections;
using Edge.Diagnostics;
using Edge.Http;
using Edge.Hub;
using Edge.Sse;
using Edge.Streams;
using Edge.Transports;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Edge.Subscribing;

/// <summary>Serves one SSE stream request from hello to close.</summary>
internal sealed partial class SseStreamEndpoint(EventHub hub, StreamAccess access, EdgeMetrics metrics, IOptions<EdgeOptions> options, ILogger<SseStreamEndpoint> logger)
{
    private const string LastEventIdHeader = "Last-Event-ID";
    private const string LastEventIdQuery = "lastEventId";

    private readonly ShutdownOptions _shutdown = options.Value.Shutdown;
    private readonly byte[] _shutdownFrame = SseFrameEncoder.Retry(options.Value.Shutdown.RetryHintMilliseconds);

    public async Task HandleAsync(HttpContext context, StreamDefinition stream)
    {
        if (await OpenAsync(context, stream).ConfigureAwait(false) is { } open)
        {
            await ServeAsync(open).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Everything up to the live stream: refusals, the hello and the replay. Returns null when
    /// the request ended here; otherwise the open stream, which no longer needs the request.
    /// </summary>
    /// <remarks>
    /// The stream's bytes go through the <see cref="IConnectionTransport"/> feature when whoever
    /// serves the request set one (the socket fast path); otherwise through the response pipe.
    /// </remarks>
    public async Task<OpenStream?> OpenAsync(HttpContext context, StreamDefinition stream)
    {
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            // A preflight of a stream with a CORS policy never gets here (the CORS middleware answers it).
            context.Response.Headers.Allow = "GET, OPTIONS";
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return null;
        }

        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.Headers.Allow = "GET, OPTIONS";
            await RejectAsync(context, stream, StatusCodes.Status405MethodNotAllowed, "Method not allowed", $"{stream.Path} is an event stream; use GET.").ConfigureAwait(false);
            return null;
        }

        if (hub.IsDraining || !hub.IsOpen)
        {
            var detail = hub.IsDraining ? "The edge is shutting down; reconnect to another instance." : "The broker is not reachable yet.";
            await RefuseAsync(context, stream, StreamRefusal.Transient(StatusCodes.Status503ServiceUnavailable, hub.IsDraining ? "draining" : "broker-unavailable", detail, TimeSpan.FromSeconds(2))).ConfigureAwait(false);
            return null;
        }

        var grant = await access.AdmitAsync(context, stream).ConfigureAwait(false);
        if (grant.Refusal is { } refusal)
        {
            await RefuseAsync(context, stream, refusal).ConfigureAwait(false);
            return null;
        }

        var channels = grant.Admission!.Channels;
        var cursorText = ReadCursor(context.Request);

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var transport = context.Features.Get<IConnectionTransport>() ?? new PipeWriterTransport(response.BodyWriter);
        var connection = hub.Connect(stream, grant.Admission.UserId, grant.Admission.SessionId, channels, transport);
        var open = new OpenStream(connection, grant, context.Features.GetRequiredFeature<IHttpRequestLifetimeFeature>(), context.RequestAborted);
        var aborted = open.Aborted;
        Log.StreamOpened(logger, connection.Id, stream.Name, channels.Count);
        try
        {
            grant.Attach(connection);
            connection.WriteRaw(stream.Hello);

            var wroteCursor = false;
            if (cursorText is not null && stream.Options.Replay)
            {
                // The headers and the hello go out before a replay that may take a while.
                await connection.FlushAsync(aborted).ConfigureAwait(false);
                ReplayPlan plan;
                try
                {
                    plan = await hub.PlanReplayAsync(connection, cursorText, aborted).ConfigureAwait(false);
                }
                catch (BrokerUnavailableException)
                {
                    // Nothing is skipped: the client comes back later with the same cursor.
                    connection.WriteRaw(_shutdownFrame);
                    await connection.FlushAsync(aborted).ConfigureAwait(false);
                    Close(open);
                    return null;
                }

                if (plan.GapReason is { } reason)
                {
                    metrics.Gap(reason);
                    Log.GapSignalled(logger, connection.Id, stream.Name, reason);
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

                metrics.Replayed(plan.Events.Count - plan.FromBroker, plan.FromBroker);
                if (written > 0)
                {
                    metrics.Delivered(written);
                    wroteCursor = true;
                }
            }

            if (!wroteCursor && stream.Options.SendInitialCursor)
            {
                connection.WriteCursor();
            }

            await connection.FlushAsync(aborted).ConfigureAwait(false);
            return open;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException || aborted.IsCancellationRequested)
        {
            // The client went away: a normal ending.
            Close(open);
            return null;
        }
        catch
        {
            Close(open);
            throw;
        }
    }

    /// <summary>Writes live events until the stream ends, then its closing frame.</summary>
    public async Task ServeAsync(OpenStream open)
    {
        var connection = open.Connection;
        var aborted = open.Aborted;
        try
        {
            await connection.PumpAsync(metrics, aborted).ConfigureAwait(false);

            switch (connection.CloseReason)
            {
                case CloseReason.Shutdown:
                    connection.WriteRaw(_shutdownFrame);
                    await connection.FlushAsync(aborted).ConfigureAwait(false);
                    break;
                case CloseReason.TokenExpired:
                    Log.TokenExpired(logger, connection.Id, connection.Stream.Name);
                    connection.WriteRaw(StreamRefusalWriter.ErrorFrame(StatusCodes.Status401Unauthorized, "token-expired", null));
                    await connection.FlushAsync(aborted).ConfigureAwait(false);
                    break;
                case CloseReason.Replaced:
                    Log.Replaced(logger, connection.Id, connection.Stream.Name);
                    connection.WriteRaw(StreamRefusalWriter.ErrorFrame(StatusCodes.Status429TooManyRequests, "replaced-by-newer-stream", StreamRefusalWriter.RetryWithJitter(null, access.ReplacedRetryMilliseconds)));
                    await connection.FlushAsync(aborted).ConfigureAwait(false);
                    break;
                case CloseReason.Ended:
                    Log.EndedByControl(logger, connection.Id, connection.Stream.Name);
                    connection.WriteRaw(StreamRefusalWriter.ErrorFrame(StatusCodes.Status401Unauthorized, "stream-ended", null));
                    await connection.FlushAsync(aborted).ConfigureAwait(false);
                    break;
                case CloseReason.SlowConsumer:
                    metrics.SlowConsumer();
                    Log.SlowConsumer(logger, connection.Id, connection.Stream.Name, connection.Stream.Options.QueueCapacity);
                    open.Lifetime.Abort();
                    break;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException || aborted.IsCancellationRequested)
        {
            // The client went away: a normal ending.
        }
        finally
        {
            Close(open);
        }
    }

    private void Close(OpenStream open)
    {
        hub.Disconnect(open.Connection);
        open.Access.Dispose();
        Log.StreamClosed(logger, open.Connection.Id, open.Connection.Stream.Name, open.Connection.CloseReason);
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

    private async Task RefuseAsync(HttpContext context, StreamDefinition stream, StreamRefusal refusal)
    {
        metrics.StreamRejected(stream.Name, refusal.MetricReason);
        if (!refusal.Logged)
        {
            Log.StreamRefused(logger, stream.Name, refusal.Status, refusal.Reason, context.Connection.RemoteIpAddress?.ToString());
        }

        await StreamRefusalWriter.WriteAsync(context, stream, refusal).ConfigureAwait(false);
    }

    private async Task RejectAsync(HttpContext context, StreamDefinition stream, int status, string title, string detail, TimeSpan? retryAfter = null)
    {
        metrics.StreamRejected(stream.Name, StreamRefusal.BadRequestReason);
        Log.StreamRejected(logger, stream.Name, status, detail);
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

        [LoggerMessage(EventId = EdgeEventIds.RequestRefused, Level = LogLevel.Information, Message = "Stream request on {Stream} from {RemoteIp} refused with {Status} ({Reason})")]
        public static partial void StreamRefused(ILogger logger, string stream, int status, string reason, string? remoteIp);

        [LoggerMessage(EventId = EdgeEventIds.TokenExpiredClosed, Level = LogLevel.Information, Message = "Stream {ConnectionId} on {Stream} closed: its credentials expired")]
        public static partial void TokenExpired(ILogger logger, long connectionId, string stream);

        [LoggerMessage(EventId = EdgeEventIds.ConnectionReplaced, Level = LogLevel.Information, Message = "Stream {ConnectionId} on {Stream} closed to make room for a newer stream of the same user")]
        public static partial void Replaced(ILogger logger, long connectionId, string stream);

        [LoggerMessage(EventId = EdgeEventIds.StreamEndedByControl, Level = LogLevel.Debug, Message = "Stream {ConnectionId} on {Stream} closed: an end-streams control record named its user or session")]
        public static partial void EndedByControl(ILogger logger, long connectionId, string stream);

        [LoggerMessage(EventId = EdgeEventIds.GapSignalled, Level = LogLevel.Information, Message = "Stream {ConnectionId} on {Stream} resumed with a gap: {Reason}")]
        public static partial void GapSignalled(ILogger logger, long connectionId, string stream, string reason);
    }
}

/// <summary>A stream past its hello and replay: what it needs until it closes, and nothing of the request.</summary>
internal sealed record OpenStream(SseConnection Connection, StreamAccessGrant Access, IHttpRequestLifetimeFeature Lifetime, CancellationToken Aborted);
