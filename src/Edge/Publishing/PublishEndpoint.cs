using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Edge.Brokers;
using Edge.Brokers.Envelopes;
using Edge.Configuration;
using Edge.Diagnostics;
using Edge.Http;
using Microsoft.Extensions.Options;

namespace Edge.Publishing;

/// <summary>
/// <c>POST /_edge/publish</c>: one envelope or an array, validated whole before anything is
/// published, answered <c>202 {"ids": [...]}</c> only after the broker accepted every event.
/// </summary>
internal sealed partial class PublishEndpoint(IEventBroker broker, EdgeMetrics metrics, IOptions<EdgeOptions> options, Auth.StreamAuthenticator authenticator, ILogger<PublishEndpoint> logger)
{
    private readonly PublishOptions _options = options.Value.Publish;
    private readonly ApiKeys _keys = new(options.Value.Publish.ApiKeys);

    public async Task HandleAsync(HttpContext context)
    {
        if (!await IsPostAsync(context).ConfigureAwait(false))
        {
            return;
        }

        if (!await IsAuthorizedAsync(context).ConfigureAwait(false))
        {
            Log.Unauthorized(logger, context.Connection.RemoteIpAddress?.ToString());
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await RejectAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", "A valid publish key (or, when configured, a token with the publisher role) is required in 'Authorization: Bearer' or 'X-Edge-Key'.").ConfigureAwait(false);
            return;
        }

        await AcceptAsync(context, refuse: null).ConfigureAwait(false);
    }

    /// <summary>Answers 405 unless the request is a POST.</summary>
    public async Task<bool> IsPostAsync(HttpContext context)
    {
        if (HttpMethods.IsPost(context.Request.Method))
        {
            return true;
        }

        context.Response.Headers.Allow = "POST";
        await RejectAsync(context, StatusCodes.Status405MethodNotAllowed, "Method not allowed", "Publish with POST.").ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Reads the body's envelopes, validates them whole and publishes them, for a caller already
    /// admitted. <paramref name="refuse"/> may name why an envelope is not allowed here (the demo
    /// allows only its channels); the answer is then the same 400 as for any invalid field.
    /// </summary>
    public async Task AcceptAsync(HttpContext context, Func<EventEnvelope, EnvelopeError?>? refuse)
    {
        if (context.Request.ContentLength > _options.MaxBodyBytes)
        {
            await RejectBodyTooLargeAsync(context).ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(context.Request.BodyReader, _options.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            await RejectBodyTooLargeAsync(context).ConfigureAwait(false);
            return;
        }

        var errors = new List<EnvelopeError>();
        var envelopes = Parse(body, errors, refuse);
        if (envelopes is null)
        {
            var grouped = errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray());
            var detail = errors.Count == 1 ? errors[0].ToString() : $"{errors.Count} problems; the first: {errors[0]}";
            await RejectAsync(context, StatusCodes.Status400BadRequest, "Invalid envelope", "Nothing was published. " + detail, grouped).ConfigureAwait(false);
            return;
        }

        await PublishAsync(context, envelopes).ConfigureAwait(false);
    }

    /// <summary>Publishes valid envelopes and answers <c>202 {"ids": [...]}</c>, or 503 when the broker did not confirm.</summary>
    public async Task PublishAsync(HttpContext context, IReadOnlyList<EventEnvelope> envelopes)
    {
        var messages = new BrokerMessage[envelopes.Count];
        var ids = new string[envelopes.Count];
        for (var i = 0; i < envelopes.Count; i++)
        {
            var envelope = envelopes[i];
            if (envelope.Id is null)
            {
                envelope = new EventEnvelope
                {
                    Channel = envelope.Channel,
                    Event = envelope.Event,
                    Data = envelope.Data,
                    UserId = envelope.UserId,
                    SessionId = envelope.SessionId,
                    Retry = envelope.Retry,
                    Id = Guid.CreateVersion7().ToString("N"),
                };
            }

            ids[i] = envelope.Id!;
            messages[i] = new BrokerMessage(envelope.Channel, envelope.Id!, EnvelopeWriter.ToUtf8Json(envelope));
        }

        try
        {
            await broker.PublishAsync(messages, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BrokerUnavailableException ex)
        {
            Log.BrokerUnavailable(logger, broker.Name, messages.Length, ex);
            await RejectAsync(context, StatusCodes.Status503ServiceUnavailable, "Broker unavailable", "The broker did not confirm the events; nothing is known to be published. Retry later with the same ids.", retryAfter: ex.RetryAfter ?? TimeSpan.FromSeconds(_options.RetryAfterSeconds)).ConfigureAwait(false);
            return;
        }

        metrics.Published(messages.Length);
        Log.Published(logger, messages.Length, broker.Name);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteStartArray("ids");
            foreach (var id in ids)
            {
                json.WriteStringValue(id);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private List<EventEnvelope>? Parse(byte[] body, List<EnvelopeError> errors, Func<EventEnvelope, EnvelopeError?>? refuse)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            errors.Add(new EnvelopeError("$", "not valid JSON: " + ex.Message));
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            var envelopes = new List<EventEnvelope>();
            if (root.ValueKind == JsonValueKind.Array)
            {
                var count = root.GetArrayLength();
                if (count == 0)
                {
                    errors.Add(new EnvelopeError("$", "the array holds no envelope"));
                    return null;
                }

                if (count > _options.MaxEventsPerRequest)
                {
                    errors.Add(new EnvelopeError("$", $"at most {_options.MaxEventsPerRequest} envelopes per request (Edge:Publish:MaxEventsPerRequest); got {count}"));
                    return null;
                }

                var index = 0;
                foreach (var element in root.EnumerateArray())
                {
                    if (EnvelopeParser.TryRead(element, $"[{index}].", errors, out var envelope) && IsEvent(envelope, $"[{index}].", errors))
                    {
                        if (refuse?.Invoke(envelope) is { } refusal)
                        {
                            errors.Add(refusal with { Field = $"[{index}]." + refusal.Field });
                        }

                        envelopes.Add(envelope);
                    }

                    index++;
                }
            }
            else if (EnvelopeParser.TryRead(root, string.Empty, errors, out var envelope) && IsEvent(envelope, string.Empty, errors))
            {
                if (refuse?.Invoke(envelope) is { } refusal)
                {
                    errors.Add(refusal);
                }

                envelopes.Add(envelope);
            }

            return errors.Count == 0 ? envelopes : null;
        }
    }

    /// <summary>Control records need the admin key: the publish API refuses them.</summary>
    private static bool IsEvent(EventEnvelope envelope, string path, List<EnvelopeError> errors)
    {
        if (envelope.Control is null)
        {
            return true;
        }

        errors.Add(new EnvelopeError(path + "control", "control records are sent through the admin API (Edge:Admin), not the publish API"));
        return false;
    }

    private async Task<bool> IsAuthorizedAsync(HttpContext context)
    {
        var presented = ApiKeys.Presented(context.Request);
        if (presented is null)
        {
            return false;
        }

        var match = _keys.Contains(presented);
        if (match || _options.Jwt is null || presented.Count(c => c == '.') != 2)
        {
            return match;
        }

        // Not a key: a JWT carrying the publisher role may publish too.
        var outcome = await authenticator.AuthenticateJwtAsync("publish", _options.Jwt, presented, context.RequestAborted).ConfigureAwait(false);
        return outcome.Succeeded && outcome.Identity!.Roles.Contains(_options.JwtRole);
    }

    private static async Task<byte[]?> ReadBodyAsync(PipeReader reader, int limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                return null;
            }

            if (result.IsCompleted)
            {
                var body = buffer.ToArray();
                reader.AdvanceTo(buffer.End);
                return body;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private Task RejectBodyTooLargeAsync(HttpContext context) =>
        RejectAsync(context, StatusCodes.Status400BadRequest, "Invalid envelope", $"Nothing was published. The body is over Edge:Publish:MaxBodyBytes ({_options.MaxBodyBytes} bytes).", new Dictionary<string, string[]> { ["body"] = [$"must be at most {_options.MaxBodyBytes} bytes"] });

    private Task RejectAsync(HttpContext context, int status, string title, string detail, IDictionary<string, string[]>? errors = null, TimeSpan? retryAfter = null)
    {
        metrics.PublishRejectedOnce();
        if (status == StatusCodes.Status400BadRequest)
        {
            Log.Rejected(logger, detail);
        }

        return ProblemResponses.WriteAsync(context, status, title, detail, errors, retryAfter);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EdgeEventIds.Published, Level = LogLevel.Debug, Message = "Published {Count} event(s) to {Broker}")]
        public static partial void Published(ILogger logger, int count, string broker);

        [LoggerMessage(EventId = EdgeEventIds.PublishRejected, Level = LogLevel.Information, Message = "Publish refused: {Detail}")]
        public static partial void Rejected(ILogger logger, string detail);

        [LoggerMessage(EventId = EdgeEventIds.PublishBrokerUnavailable, Level = LogLevel.Warning, Message = "Publish of {Count} event(s) failed: {Broker} unavailable")]
        public static partial void BrokerUnavailable(ILogger logger, string broker, int count, Exception exception);

        [LoggerMessage(EventId = EdgeEventIds.PublishUnauthorized, Level = LogLevel.Information, Message = "Publish refused without a valid key from {RemoteIp}")]
        public static partial void Unauthorized(ILogger logger, string? remoteIp);
    }
}
