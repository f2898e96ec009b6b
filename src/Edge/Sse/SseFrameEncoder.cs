using System.Buffers;
using System.Globalization;
using System.Text;
using Edge.Brokers;
using Edge.Brokers.Cursors;
using Edge.Brokers.Envelopes;

namespace Edge.Sse;

/// <summary>
/// Writes SSE frames as the WHATWG "server-sent events" section defines them: text is split on
/// CR LF, CR and LF into <c>data:</c> lines, and field values that would break framing never
/// reach an <c>event:</c> or <c>id:</c> line (they are refused earlier).
/// </summary>
internal static class SseFrameEncoder
{
    private static ReadOnlySpan<byte> EventField => "event: "u8;

    private static ReadOnlySpan<byte> DataField => "data: "u8;

    private static ReadOnlySpan<byte> IdField => "id: "u8;

    private static ReadOnlySpan<byte> RetryField => "retry: "u8;

    /// <summary>Encodes a log event once for every recipient.</summary>
    public static PreparedEvent Encode(EventEnvelope envelope, string epoch, BrokerRecord record, ArrayBufferWriter<byte> scratch)
    {
        scratch.ResetWrittenCount();
        if (!string.Equals(envelope.Event, EventEnvelope.DefaultEvent, StringComparison.Ordinal))
        {
            WriteField(scratch, EventField, envelope.Event);
        }

        if (envelope.Retry is { } retry)
        {
            WriteRetryLine(scratch, retry);
        }

        WriteData(scratch, envelope.Data.Text);
        var bodyLength = scratch.WrittenCount;
        scratch.Write(IdField);
        WriteAscii(scratch, EventCursor.Format(epoch, new LogPosition(record.Partition, record.Offset + 1)));
        scratch.Write("\n\n"u8);

        return new PreparedEvent(
            record.Partition,
            record.Offset,
            envelope.Channel,
            envelope.UserId,
            envelope.SessionId,
            record.MessageId ?? envelope.Id,
            record.Timestamp.UtcTicks,
            scratch.WrittenSpan.ToArray(),
            bodyLength);
    }

    /// <summary>A comment frame, <c>:{text}</c> and a blank line.</summary>
    public static byte[] Comment(string text)
    {
        var buffer = new ArrayBufferWriter<byte>(text.Length + 3);
        buffer.Write(":"u8);
        WriteUtf8(buffer, text);
        buffer.Write("\n\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A named event frame without id (hello, heartbeat, gap, error).</summary>
    public static byte[] Event(string? eventName, string data, string? id = null, int? retry = null)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + data.Length);
        if (eventName is not null && !string.Equals(eventName, EventEnvelope.DefaultEvent, StringComparison.Ordinal))
        {
            WriteField(buffer, EventField, eventName);
        }

        if (retry is { } r)
        {
            WriteRetryLine(buffer, r);
        }

        WriteData(buffer, data);
        if (id is not null)
        {
            WriteField(buffer, IdField, id);
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A <c>retry:</c> frame.</summary>
    public static byte[] Retry(int milliseconds)
    {
        var buffer = new ArrayBufferWriter<byte>(24);
        WriteRetryLine(buffer, milliseconds);
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An <c>id:</c> without data: sets the client's last event id without dispatching an event.</summary>
    public static byte[] IdOnly(string cursor)
    {
        var buffer = new ArrayBufferWriter<byte>(cursor.Length + 6);
        WriteField(buffer, IdField, cursor);
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteRetryLine(IBufferWriter<byte> buffer, int milliseconds)
    {
        buffer.Write(RetryField);
        WriteAscii(buffer, milliseconds.ToString(CultureInfo.InvariantCulture));
        buffer.Write("\n"u8);
    }

    private static void WriteData(IBufferWriter<byte> buffer, string text)
    {
        var remaining = text.AsSpan();
        while (true)
        {
            var lineBreak = remaining.IndexOfAny('\r', '\n');
            buffer.Write(DataField);
            if (lineBreak < 0)
            {
                WriteUtf8(buffer, remaining);
                buffer.Write("\n"u8);
                return;
            }

            WriteUtf8(buffer, remaining[..lineBreak]);
            buffer.Write("\n"u8);
            var skip = remaining[lineBreak] == '\r' && lineBreak + 1 < remaining.Length && remaining[lineBreak + 1] == '\n' ? 2 : 1;
            remaining = remaining[(lineBreak + skip)..];
        }
    }

    private static void WriteField(IBufferWriter<byte> buffer, ReadOnlySpan<byte> field, string value)
    {
        buffer.Write(field);
        WriteUtf8(buffer, value);
        buffer.Write("\n"u8);
    }

    private static void WriteUtf8(IBufferWriter<byte> buffer, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        buffer.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    private static void WriteAscii(IBufferWriter<byte> buffer, string text)
    {
        var span = buffer.GetSpan(text.Length);
        buffer.Advance(Encoding.ASCII.GetBytes(text, span));
    }
}
