using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Edge.Brokers.Envelopes;

/// <summary>Writes an envelope as the JSON that goes to the broker.</summary>
public static class EnvelopeWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static byte[] ToUtf8Json(EventEnvelope envelope)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            if (envelope.Id is not null)
            {
                writer.WriteString("id", envelope.Id);
            }

            if (envelope.Control is not null)
            {
                writer.WriteString("control", envelope.Control);
            }

            writer.WriteString("channel", envelope.Channel);
            writer.WriteString("event", envelope.Event);
            writer.WritePropertyName("data");
            if (envelope.Data.IsJson)
            {
                writer.WriteRawValue(envelope.Data.Text, skipInputValidation: true);
            }
            else
            {
                writer.WriteStringValue(envelope.Data.Text);
            }

            if (envelope.UserId is not null)
            {
                writer.WriteString("userId", envelope.UserId);
            }

            if (envelope.SessionId is not null)
            {
                writer.WriteString("sessionId", envelope.SessionId);
            }

            if (envelope.Retry is { } retry)
            {
                writer.WriteNumber("retry", retry);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
