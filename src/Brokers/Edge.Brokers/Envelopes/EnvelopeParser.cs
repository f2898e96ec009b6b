using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Edge.Brokers.Envelopes;

/// <summary>Reads and validates envelopes; every refusal names the field.</summary>
public static class EnvelopeParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    private static readonly JsonWriterOptions CompactWriterOptions = new()
    {
        Indented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <summary>Parses one envelope from UTF-8 JSON, as read from a broker.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Json, [NotNullWhen(true)] out EventEnvelope? envelope, [NotNullWhen(false)] out EnvelopeError? error)
    {
        envelope = null;
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
            document = JsonDocument.ParseValue(ref reader);
            if (reader.BytesConsumed != utf8Json.Length && HasTrailingContent(utf8Json[(int)reader.BytesConsumed..]))
            {
                document.Dispose();
                error = new EnvelopeError("$", "unexpected content after the JSON value");
                return false;
            }
        }
        catch (JsonException ex)
        {
            error = new EnvelopeError("$", "not valid JSON: " + ex.Message);
            return false;
        }

        using (document)
        {
            var errors = new List<EnvelopeError>(1);
            if (TryRead(document.RootElement, string.Empty, errors, out envelope))
            {
                error = null;
                return true;
            }

            error = errors[0];
            return false;
        }
    }

    /// <summary>
    /// Reads one envelope from a JSON element, adding every problem to <paramref name="errors"/>
    /// with field names prefixed by <paramref name="path"/> (such as <c>[2].</c>).
    /// </summary>
    public static bool TryRead(JsonElement element, string path, List<EnvelopeError> errors, [NotNullWhen(true)] out EventEnvelope? envelope)
    {
        envelope = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new EnvelopeError(path.Length == 0 ? "$" : path.TrimEnd('.'), "must be a JSON object (an envelope)"));
            return false;
        }

        var errorCount = errors.Count;
        string? channel = null, eventName = null, userId = null, sessionId = null, id = null, control = null;
        int? retry = null;
        var data = EnvelopeData.Empty;

        foreach (var property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "channel":
                    channel = ReadString(property.Value, path + "channel", errors, allowNumber: false);
                    break;
                case "event":
                    eventName = ReadString(property.Value, path + "event", errors, allowNumber: false);
                    break;
                case "userId":
                    userId = ReadString(property.Value, path + "userId", errors, allowNumber: true);
                    break;
                case "sessionId":
                    sessionId = ReadString(property.Value, path + "sessionId", errors, allowNumber: true);
                    break;
                case "id":
                    id = ReadString(property.Value, path + "id", errors, allowNumber: true);
                    break;
                case "retry":
                    retry = ReadRetry(property.Value, path + "retry", errors);
                    break;
                case "data":
                    data = ReadData(property.Value, path + "data", errors);
                    break;
                case "control":
                    control = ReadString(property.Value, path + "control", errors, allowNumber: false);
                    break;
                default:
                    // Unknown fields are ignored so that publishers may carry their own metadata.
                    break;
            }
        }

        if (channel is not null && EnvelopeLimits.CheckChannel(channel) is { } channelProblem)
        {
            errors.Add(new EnvelopeError(path + "channel", channelProblem));
        }

        if (eventName is not null)
        {
            if (eventName.Length == 0 || eventName.Length > EnvelopeLimits.MaxEventLength)
            {
                errors.Add(new EnvelopeError(path + "event", $"must be 1 to {EnvelopeLimits.MaxEventLength} characters"));
            }
            else if (!EnvelopeLimits.IsLineSafe(eventName))
            {
                errors.Add(new EnvelopeError(path + "event", "must not contain CR, LF, NUL or other control characters"));
            }
        }

        if (userId is not null && EnvelopeLimits.CheckIdentity(userId) is { } userProblem)
        {
            errors.Add(new EnvelopeError(path + "userId", userProblem));
        }

        if (sessionId is not null && EnvelopeLimits.CheckIdentity(sessionId) is { } sessionProblem)
        {
            errors.Add(new EnvelopeError(path + "sessionId", sessionProblem));
        }

        if (id is not null && (id.Length == 0 || id.Length > EnvelopeLimits.MaxIdLength || !EnvelopeLimits.IsLineSafe(id)))
        {
            errors.Add(new EnvelopeError(path + "id", $"must be 1 to {EnvelopeLimits.MaxIdLength} characters without control characters"));
        }

        if (control is not null)
        {
            if (control != EventEnvelope.EndStreamsControl)
            {
                errors.Add(new EnvelopeError(path + "control", $"must be '{EventEnvelope.EndStreamsControl}'"));
            }
            else if (userId is null && sessionId is null)
            {
                errors.Add(new EnvelopeError(path + "control", "end-streams needs userId or sessionId"));
            }
        }

        channel ??= userId is not null ? EventEnvelope.UserChannel(userId)
            : sessionId is not null ? EventEnvelope.SessionChannel(sessionId)
            : null;
        if (channel is null && errors.Count == errorCount)
        {
            errors.Add(new EnvelopeError(path + "channel", "is required (or give userId or sessionId to target a person)"));
        }

        if (errors.Count != errorCount || channel is null)
        {
            return false;
        }

        envelope = new EventEnvelope
        {
            Channel = channel,
            Event = eventName ?? EventEnvelope.DefaultEvent,
            Data = data,
            UserId = userId,
            SessionId = sessionId,
            Retry = retry,
            Id = id,
            Control = control,
        };
        return true;
    }

    private static string? ReadString(JsonElement value, string field, List<EnvelopeError> errors, bool allowNumber)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return GetText(value, field, errors);
            case JsonValueKind.Number when allowNumber:
                return value.GetRawText();
            default:
                errors.Add(new EnvelopeError(field, allowNumber ? "must be a string or a number" : "must be a string"));
                return null;
        }
    }

    private static int? ReadRetry(JsonElement value, string field, List<EnvelopeError> errors)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var retry) && retry is >= 0 and <= EnvelopeLimits.MaxRetryMilliseconds)
        {
            return retry;
        }

        errors.Add(new EnvelopeError(field, string.Create(CultureInfo.InvariantCulture, $"must be an integer number of milliseconds from 0 to {EnvelopeLimits.MaxRetryMilliseconds}")));
        return null;
    }

    /// <summary>A JSON <c>null</c> is a value like any other: it arrives as <c>data: null</c>.</summary>
    private static readonly EnvelopeData NullData = EnvelopeData.FromJson("null");

    /// <summary>
    /// The string's text; null with an error when it holds an escaped lone surrogate (<c>"\ud800"</c>),
    /// which is valid JSON but no text (System.Text.Json throws on reading it).
    /// </summary>
    private static string? GetText(JsonElement value, string field, List<EnvelopeError> errors)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            errors.Add(new EnvelopeError(field, "contains an unpaired surrogate escape (\\uD800-\\uDFFF without its pair)"));
            return null;
        }
    }

    private static EnvelopeData ReadData(JsonElement value, string field, List<EnvelopeError> errors)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return GetText(value, field, errors) is { } text ? EnvelopeData.FromText(text) : EnvelopeData.Empty;
            case JsonValueKind.Undefined:
                return EnvelopeData.Empty;
            case JsonValueKind.Null:
                return NullData;
            default:
                var buffer = new ArrayBufferWriter<byte>(256);
                using (var writer = new Utf8JsonWriter(buffer, CompactWriterOptions))
                {
                    value.WriteTo(writer);
                }

                return EnvelopeData.FromJson(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
    }

    private static bool HasTrailingContent(ReadOnlySpan<byte> rest)
    {
        foreach (var b in rest)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return true;
            }
        }

        return false;
    }
}
