using System.Text.Json;
using Edge.Brokers;
using Edge.Brokers.Envelopes;
using Edge.Diagnostics;
using Edge.Http;

namespace Edge.Admin;

/// <summary>
/// <c>POST {Edge:Admin:Path}/end-streams</c> with <c>{"userId": "…"}</c> or <c>{"sessionId": "…"}</c>:
/// appends an <c>end-streams</c> control record to the broker's log, which every instance reads, so
/// every stream of that user or session closes on every instance.
/// </summary>
internal sealed partial class EndStreamsEndpoint(IEventBroker broker, AdminOptions options, ILogger<EndStreamsEndpoint> logger)
{
    private const int MaxBodyBytes = 4096;

    private readonly ApiKeys _keys = new(options.ApiKeys);

    public async Task HandleAsync(HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await ProblemResponses.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "Method not allowed", "Use POST.").ConfigureAwait(false);
            return;
        }

        if (!_keys.Contains(ApiKeys.Presented(context.Request)))
        {
            Log.Unauthorized(logger, context.Connection.RemoteIpAddress?.ToString());
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await ProblemResponses.WriteAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", "An admin key is required in 'Authorization: Bearer' or 'X-Edge-Key'.").ConfigureAwait(false);
            return;
        }

        var (userId, sessionId, problem) = await ReadAsync(context).ConfigureAwait(false);
        if (problem is not null)
        {
            await ProblemResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "Invalid request", problem).ConfigureAwait(false);
            return;
        }

        var envelope = new EventEnvelope
        {
            Channel = userId is not null ? EventEnvelope.UserChannel(userId) : EventEnvelope.SessionChannel(sessionId!),
            Control = EventEnvelope.EndStreamsControl,
            UserId = userId,
            SessionId = sessionId,
            Id = Guid.CreateVersion7().ToString("N"),
        };
        try
        {
            await broker.PublishAsync([new BrokerMessage(envelope.Channel, envelope.Id, EnvelopeWriter.ToUtf8Json(envelope))], context.RequestAborted).ConfigureAwait(false);
        }
        catch (BrokerUnavailableException ex)
        {
            await ProblemResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Broker unavailable", "The control record was not confirmed; retry later.", retryAfter: ex.RetryAfter ?? TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            return;
        }

        Log.Requested(logger, userId, sessionId, envelope.Id);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { id = envelope.Id }), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<(string? UserId, string? SessionId, string? Problem)> ReadAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        var buffer = new byte[1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (body.Length + read > MaxBodyBytes)
            {
                return (null, null, $"The body is over {MaxBodyBytes} bytes.");
            }

            body.Write(buffer, 0, read);
        }

        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null, "The body must be a JSON object: {\"userId\": \"…\"} or {\"sessionId\": \"…\"}.");
            }

            var userId = Text(root, "userId");
            var sessionId = Text(root, "sessionId");
            if ((userId is null) == (sessionId is null))
            {
                return (null, null, "Give exactly one of userId and sessionId.");
            }

            var problem = EnvelopeLimits.CheckIdentity(userId ?? sessionId!);
            return problem is null ? (userId, sessionId, null) : (null, null, (userId is not null ? "userId " : "sessionId ") + problem + ".");
        }
        catch (JsonException)
        {
            return (null, null, "The body is not valid JSON.");
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? (value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText())
            : null;

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.EndStreamsRequested, Level = LogLevel.Information, Message = "End-streams requested for user {UserId} / session {SessionId} (control record {MessageId})")]
        public static partial void Requested(ILogger logger, string? userId, string? sessionId, string messageId);

        [LoggerMessage(EventId = EdgeEventIds.AdminUnauthorized, Level = LogLevel.Information, Message = "Admin call refused without a valid key from {RemoteIp}")]
        public static partial void Unauthorized(ILogger logger, string? remoteIp);
    }
}
