using System.Text;
using Edge.Http;

namespace Edge.Proxy.Direct;

/// <summary>How the body of an upstream response is delimited (RFC 9112 §6.3).</summary>
internal enum ResponseFraming
{
    /// <summary>No body: the request was HEAD, or the status is 1xx, 204 or 304.</summary>
    None,

    /// <summary>Exactly <see cref="UpstreamResponseHead.ContentLength"/> bytes follow the head.</summary>
    ContentLength,

    /// <summary>A chunked body follows; <see cref="ChunkedBodyScanner"/> finds its end.</summary>
    Chunked,

    /// <summary>The body ends when the upstream closes the connection.</summary>
    UntilClose,
}

/// <summary>What <see cref="UpstreamResponseHead.TryRead"/> made of the bytes received so far.</summary>
internal enum ResponseHeadStatus
{
    /// <summary>The head is not complete yet and nothing in it is wrong so far.</summary>
    Incomplete,

    /// <summary>The head is complete and valid.</summary>
    Complete,

    /// <summary>The head is malformed, doubtful or too long: answer 502 and close the upstream connection.</summary>
    Invalid,
}

/// <summary>
/// The head of an upstream HTTP/1.1 (or 1.0) response, read strictly (RFC 9112) from the start of a buffer:
/// where it ends, how the body is framed, whether the upstream connection can carry another request, and
/// (through <see cref="WriteClientHead"/>) the head as the client should get it. Reading allocates nothing
/// but constant strings; anything doubtful is <see cref="ResponseHeadStatus.Invalid"/>.
/// </summary>
internal readonly struct UpstreamResponseHead
{
    /// <summary>The longest head accepted, final CRLFCRLF included.</summary>
    public const int MaxHeadBytes = 32 * 1024;

    // The length of "HTTP/1.1 200 ": the shortest complete status line.
    private const int StatusLinePrefixLength = 13;

    private UpstreamResponseHead(int statusCode, int headLength, ResponseFraming framing, long contentLength, bool keepAlive, bool isInterim, bool dropContentLength)
    {
        StatusCode = statusCode;
        HeadLength = headLength;
        Framing = framing;
        ContentLength = contentLength;
        KeepAlive = keepAlive;
        IsInterim = isInterim;
        DropContentLength = dropContentLength;
    }

    private UpstreamResponseHead(string error) => Error = error;

    public int StatusCode { get; }

    /// <summary>Bytes of the head including the final CRLFCRLF.</summary>
    public int HeadLength { get; }

    public ResponseFraming Framing { get; }

    /// <summary>The body's length when <see cref="Framing"/> is <see cref="ResponseFraming.ContentLength"/>, otherwise 0.</summary>
    public long ContentLength { get; }

    /// <summary>The upstream connection may carry another request after this response's body.</summary>
    public bool KeepAlive { get; }

    /// <summary>A 1xx other than 101: forward it, then read the next head.</summary>
    public bool IsInterim { get; }

    /// <summary>When the head is invalid: a short precise reason for the log.</summary>
    public string? Error { get; }

    /// <summary>Transfer-Encoding and Content-Length both came: the Content-Length lines are not forwarded (RFC 9112 §6.3).</summary>
    private bool DropContentLength { get; }

    /// <summary>Reads a response head from the start of <paramref name="buffer"/>; bytes after the head are ignored.</summary>
    /// <param name="requestMethodIsHead">The request was HEAD, so the response has no body whatever its headers say.</param>
    public static ResponseHeadStatus TryRead(ReadOnlySpan<byte> buffer, bool requestMethodIsHead, out UpstreamResponseHead head)
    {
        head = default;
        var window = buffer.Length > MaxHeadBytes ? buffer[..MaxHeadBytes] : buffer;
        var facts = default(HeadFacts);
        var position = 0;
        string? error;
        while (true)
        {
            var rest = window[position..];
            var lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                // An unfinished line: reject it now if no continuation can make it valid.
                var partial = rest.Length > 0 && rest[^1] == (byte)'\r' ? rest[..^1] : rest;
                error = position == 0 ? CheckStatusLine(partial, complete: false) : CheckFieldLine(partial, complete: false, out _);
                if (error is null && buffer.Length >= MaxHeadBytes)
                {
                    error = Errors.HeadTooLong;
                }

                return error is null ? ResponseHeadStatus.Incomplete : Fail(error, out head);
            }

            if (lf == 0 || rest[lf - 1] != (byte)'\r')
            {
                return Fail(Errors.BareLf, out head);
            }

            var line = rest[..(lf - 1)];
            var next = position + lf + 1;
            if (position == 0)
            {
                error = ReadStatusLine(line, ref facts);
            }
            else if (line.IsEmpty)
            {
                position = next;
                break;
            }
            else
            {
                error = ReadFieldLine(line, ref facts);
            }

            if (error is not null)
            {
                return Fail(error, out head);
            }

            position = next;
        }

        error = Decide(facts, requestMethodIsHead, position, out head);
        return error is null ? ResponseHeadStatus.Complete : Fail(error, out head);
    }

    /// <summary>
    /// Copies the head (<c>buffer[..HeadLength]</c>) to <paramref name="destination"/> as the client should get it:
    /// the status line and every other header line verbatim and in order, without the hop-by-hop lines (Connection,
    /// Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade and every header a Connection token names), without the
    /// headers YARP never forwards (<see cref="IsNeverForwarded"/>) and without
    /// Content-Length when Transfer-Encoding came too. Transfer-Encoding is kept: a chunked body is forwarded verbatim.
    /// <paramref name="destination"/> must not overlap <paramref name="buffer"/>.
    /// </summary>
    /// <param name="buffer">The buffer this head was read from.</param>
    /// <param name="closeClient">Add a <c>Connection: close</c> line.</param>
    /// <returns>The bytes written, or -1 when <paramref name="destination"/> is too small (it may then hold part of the head).</returns>
    public int WriteClientHead(ReadOnlySpan<byte> buffer, Span<byte> destination, bool closeClient)
    {
        if (HeadLength == 0)
        {
            throw new InvalidOperationException("Only a head read complete from this buffer can be written.");
        }

        var head = buffer[..HeadLength];
        var statusLength = head.IndexOf("\r\n"u8) + 2;
        var fields = head[statusLength..^2];
        var written = 0;
        if (!TryAppend(head[..statusLength], destination, ref written))
        {
            return -1;
        }

        var rest = fields;
        while (!rest.IsEmpty)
        {
            var length = rest.IndexOf("\r\n"u8) + 2;
            var line = rest[..length];
            rest = rest[length..];
            var name = line[..line.IndexOf((byte)':')];
            if (IsHopByHop(name) || (DropContentLength && Ascii.EqualsIgnoreCase(name, "Content-Length"u8)) || IsNamedByConnection(name, fields))
            {
                continue;
            }

            if (!TryAppend(line, destination, ref written))
            {
                return -1;
            }
        }

        if (closeClient && !TryAppend("Connection: close\r\n"u8, destination, ref written))
        {
            return -1;
        }

        return TryAppend("\r\n"u8, destination, ref written) ? written : -1;
    }

    private static ResponseHeadStatus Fail(string error, out UpstreamResponseHead head)
    {
        head = new UpstreamResponseHead(error);
        return ResponseHeadStatus.Invalid;
    }

    private static string? Decide(in HeadFacts facts, bool requestMethodIsHead, int headLength, out UpstreamResponseHead head)
    {
        head = default;
        var status = facts.StatusCode;
        if (status == 101)
        {
            return Errors.SwitchingProtocols;
        }

        if (facts.IsHttp10 && facts.HasTransferEncoding)
        {
            // RFC 9112 §6.1: the framing of such a message is faulty.
            return Errors.TransferEncodingInHttp10;
        }

        if (status < 200)
        {
            if (facts.IsHttp10)
            {
                return Errors.InterimInHttp10;
            }

            head = new UpstreamResponseHead(status, headLength, ResponseFraming.None, 0, keepAlive: true, isInterim: true, dropContentLength: false);
            return null;
        }

        var bothLengths = facts.HasTransferEncoding && facts.HasContentLength;
        ResponseFraming framing;
        if (requestMethodIsHead || status is 204 or 304)
        {
            framing = ResponseFraming.None;
        }
        else if (facts.HasTransferEncoding)
        {
            framing = facts.LastCodingIsChunked ? ResponseFraming.Chunked : ResponseFraming.UntilClose;
        }
        else
        {
            framing = facts.HasContentLength ? ResponseFraming.ContentLength : ResponseFraming.UntilClose;
        }

        var keepAlive = (!facts.IsHttp10 || facts.ConnectionKeepAlive)
            && !facts.ConnectionClose
            && framing != ResponseFraming.UntilClose
            && !bothLengths;
        var contentLength = framing == ResponseFraming.ContentLength ? facts.ContentLength : 0;
        head = new UpstreamResponseHead(status, headLength, framing, contentLength, keepAlive, isInterim: false, dropContentLength: bothLengths);
        return null;
    }

    /// <summary>
    /// Checks a status line, or the start of one when <paramref name="complete"/> is false:
    /// <c>HTTP/1.1 </c> or <c>HTTP/1.0 </c>, a status code 100-599, then SP and an optional reason phrase (or nothing).
    /// </summary>
    private static string? CheckStatusLine(ReadOnlySpan<byte> line, bool complete)
    {
        var version = "HTTP/1."u8;
        for (var i = 0; i < line.Length; i++)
        {
            var b = line[i];
            var ok = i switch
            {
                < 7 => b == version[i],
                7 => b is (byte)'0' or (byte)'1',
                8 => b == (byte)' ',
                _ => true,
            };
            if (!ok)
            {
                return Errors.NotHttp1;
            }

            if (i == 9 && b is < (byte)'1' or > (byte)'5')
            {
                return char.IsAsciiDigit((char)b) ? Errors.StatusOutOfRange : Errors.StatusNotThreeDigits;
            }

            if (i is 10 or 11 && !char.IsAsciiDigit((char)b))
            {
                return Errors.StatusNotThreeDigits;
            }

            if (i == 12 && b != (byte)' ')
            {
                return char.IsAsciiDigit((char)b) ? Errors.StatusNotThreeDigits : Errors.NoSpaceAfterStatus;
            }

            if (i > 12 && !HttpSyntax.IsTextByte(b))
            {
                return Errors.ControlInReason;
            }
        }

        // "HTTP/1.1 200" without SP and reason is accepted, as HttpClient (and so YARP) accepts it.
        if (!complete || line.Length >= StatusLinePrefixLength - 1)
        {
            return null;
        }

        return line.Length switch
        {
            < 9 => Errors.NotHttp1,
            < 12 => Errors.StatusNotThreeDigits,
            _ => Errors.NoSpaceAfterStatus,
        };
    }

    private static string? ReadStatusLine(ReadOnlySpan<byte> line, ref HeadFacts facts)
    {
        if (CheckStatusLine(line, complete: true) is { } error)
        {
            return error;
        }

        facts.IsHttp10 = line[7] == (byte)'0';
        facts.StatusCode = ((line[9] - '0') * 100) + ((line[10] - '0') * 10) + (line[11] - '0');
        return null;
    }

    /// <summary>
    /// Checks a field line (without its CRLF), or the start of one when <paramref name="complete"/> is false:
    /// a token, a colon right after it, then a value without control characters other than HTAB.
    /// </summary>
    private static string? CheckFieldLine(ReadOnlySpan<byte> line, bool complete, out int colon)
    {
        colon = line.IndexOf((byte)':');
        if (line.IsEmpty)
        {
            return null;
        }

        if (line[0] is (byte)' ' or (byte)'\t')
        {
            return Errors.ObsFold;
        }

        if (colon == 0)
        {
            return Errors.EmptyName;
        }

        if (colon < 0 && complete)
        {
            return Errors.NoColon;
        }

        var name = colon < 0 ? line : line[..colon];
        for (var i = 0; i < name.Length; i++)
        {
            if (!HttpSyntax.IsTokenByte(name[i]))
            {
                // "Name : v" has whitespace before the colon; "Bad Name: v" has a name that is not a token.
                return name[i..].Trim(" \t"u8).IsEmpty ? Errors.SpaceBeforeColon : Errors.NameNotToken;
            }
        }

        if (colon < 0)
        {
            return null;
        }

        foreach (var b in line[(colon + 1)..])
        {
            if (!HttpSyntax.IsTextByte(b))
            {
                return Errors.ControlInValue;
            }
        }

        return null;
    }

    private static string? ReadFieldLine(ReadOnlySpan<byte> line, ref HeadFacts facts)
    {
        if (CheckFieldLine(line, complete: true, out var colon) is { } error)
        {
            return error;
        }

        var name = line[..colon];
        var value = line[(colon + 1)..].Trim(" \t"u8);
        if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
        {
            return ReadContentLength(value, ref facts);
        }

        if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
        {
            return ReadTransferEncoding(value, ref facts);
        }

        if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
        {
            return ReadConnection(value, ref facts);
        }

        return null;
    }

    /// <summary>Digits only; a comma-separated list (or several lines) only when every value is the same number.</summary>
    private static string? ReadContentLength(ReadOnlySpan<byte> value, ref HeadFacts facts)
    {
        foreach (var range in value.Split((byte)','))
        {
            var element = value[range].Trim(" \t"u8);
            if (element.IsEmpty)
            {
                return Errors.ContentLengthNotNumber;
            }

            long length = 0;
            foreach (var b in element)
            {
                if (!char.IsAsciiDigit((char)b))
                {
                    return Errors.ContentLengthNotNumber;
                }

                if (length > (long.MaxValue - (b - '0')) / 10)
                {
                    return Errors.ContentLengthTooLarge;
                }

                length = (length * 10) + (b - '0');
            }

            if (facts.HasContentLength && facts.ContentLength != length)
            {
                return Errors.ContentLengthConflict;
            }

            facts.HasContentLength = true;
            facts.ContentLength = length;
        }

        return null;
    }

    /// <summary>A list of coding names (no parameters); empty list elements are skipped, an empty list is refused.</summary>
    private static string? ReadTransferEncoding(ReadOnlySpan<byte> value, ref HeadFacts facts)
    {
        var codings = 0;
        foreach (var range in value.Split((byte)','))
        {
            var element = value[range].Trim(" \t"u8);
            if (element.IsEmpty)
            {
                continue;
            }

            if (!HttpSyntax.IsToken(element))
            {
                return Errors.TransferEncodingNotCodings;
            }

            var chunked = Ascii.EqualsIgnoreCase(element, "chunked"u8);
            if (chunked && facts.ChunkedSeen)
            {
                return Errors.ChunkedTwice;
            }

            facts.ChunkedSeen |= chunked;
            facts.LastCodingIsChunked = chunked;
            codings++;
        }

        facts.HasTransferEncoding = true;
        return codings == 0 ? Errors.TransferEncodingEmpty : null;
    }

    private static string? ReadConnection(ReadOnlySpan<byte> value, ref HeadFacts facts)
    {
        foreach (var range in value.Split((byte)','))
        {
            var element = value[range].Trim(" \t"u8);
            if (element.IsEmpty)
            {
                continue;
            }

            if (!HttpSyntax.IsToken(element))
            {
                return Errors.ConnectionNotTokens;
            }

            facts.ConnectionClose |= Ascii.EqualsIgnoreCase(element, "close"u8);
            facts.ConnectionKeepAlive |= Ascii.EqualsIgnoreCase(element, "keep-alive"u8);
        }

        return null;
    }

    /// <summary>
    /// The headers YARP forwards in neither direction besides the hop-by-hop ones
    /// (<c>RequestUtilities</c>' exclusion list): proxy authentication and features, <c>Alt-Svc</c>
    /// (the upstream's alternative services are not the edge's), and a few connection-level ones.
    /// </summary>
    internal static bool IsNeverForwarded(ReadOnlySpan<byte> name) =>
        Ascii.EqualsIgnoreCase(name, "Proxy-Authenticate"u8)
        || Ascii.EqualsIgnoreCase(name, "Proxy-Authentication-Info"u8)
        || Ascii.EqualsIgnoreCase(name, "Proxy-Authorization"u8)
        || Ascii.EqualsIgnoreCase(name, "Proxy-Features"u8)
        || Ascii.EqualsIgnoreCase(name, "Proxy-Instruction"u8)
        || Ascii.EqualsIgnoreCase(name, "Security-Scheme"u8)
        || Ascii.EqualsIgnoreCase(name, "ALPN"u8)
        || Ascii.EqualsIgnoreCase(name, "Close"u8)
        || Ascii.EqualsIgnoreCase(name, "Alt-Svc"u8)
        || Ascii.EqualsIgnoreCase(name, "Upgrade-Insecure-Requests"u8);

    private static bool IsHopByHop(ReadOnlySpan<byte> name) =>
        Ascii.EqualsIgnoreCase(name, "Connection"u8)
        || Ascii.EqualsIgnoreCase(name, "Keep-Alive"u8)
        || Ascii.EqualsIgnoreCase(name, "Proxy-Connection"u8)
        || Ascii.EqualsIgnoreCase(name, "TE"u8)
        || Ascii.EqualsIgnoreCase(name, "Trailer"u8)
        || Ascii.EqualsIgnoreCase(name, "Upgrade"u8)
        || IsNeverForwarded(name);

    /// <summary>Whether a token of any Connection line in <paramref name="fields"/> (validated field lines, each ending in CRLF) names this header.</summary>
    private static bool IsNamedByConnection(ReadOnlySpan<byte> name, ReadOnlySpan<byte> fields)
    {
        while (!fields.IsEmpty)
        {
            var length = fields.IndexOf("\r\n"u8);
            var line = fields[..length];
            fields = fields[(length + 2)..];
            var colon = line.IndexOf((byte)':');
            if (!Ascii.EqualsIgnoreCase(line[..colon], "Connection"u8))
            {
                continue;
            }

            var value = line[(colon + 1)..];
            foreach (var range in value.Split((byte)','))
            {
                if (Ascii.EqualsIgnoreCase(value[range].Trim(" \t"u8), name))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool TryAppend(ReadOnlySpan<byte> bytes, Span<byte> destination, ref int written)
    {
        if (!bytes.TryCopyTo(destination[written..]))
        {
            return false;
        }

        written += bytes.Length;
        return true;
    }

    /// <summary>What the field lines said about framing and persistence, gathered line by line.</summary>
    private struct HeadFacts
    {
        public int StatusCode;
        public bool IsHttp10;
        public bool HasContentLength;
        public long ContentLength;
        public bool HasTransferEncoding;
        public bool ChunkedSeen;
        public bool LastCodingIsChunked;
        public bool ConnectionClose;
        public bool ConnectionKeepAlive;
    }

    /// <summary>The reasons a head is refused; constants, so refusing allocates nothing.</summary>
    internal static class Errors
    {
        public const string HeadTooLong = "response head longer than 32768 bytes";
        public const string BareLf = "bare LF in the response head";
        public const string NotHttp1 = "status line does not start with HTTP/1.1 or HTTP/1.0";
        public const string StatusNotThreeDigits = "status code is not three digits";
        public const string StatusOutOfRange = "status code outside 100-599";
        public const string NoSpaceAfterStatus = "no space after the status code";
        public const string ControlInReason = "control character in the reason phrase";
        public const string ObsFold = "obs-fold (header line starting with whitespace)";
        public const string EmptyName = "empty header name";
        public const string SpaceBeforeColon = "whitespace between a header name and the colon";
        public const string NameNotToken = "header name is not a token";
        public const string NoColon = "header line without a colon";
        public const string ControlInValue = "control character in a header value";
        public const string SwitchingProtocols = "switching protocols was not asked for";
        public const string InterimInHttp10 = "1xx status in an HTTP/1.0 response";
        public const string TransferEncodingInHttp10 = "Transfer-Encoding in an HTTP/1.0 response";
        public const string TransferEncodingNotCodings = "Transfer-Encoding is not a list of coding names";
        public const string TransferEncodingEmpty = "empty Transfer-Encoding";
        public const string ChunkedTwice = "chunked applied more than once";
        public const string ContentLengthNotNumber = "Content-Length is not a decimal number";
        public const string ContentLengthTooLarge = "Content-Length does not fit in 63 bits";
        public const string ContentLengthConflict = "two different Content-Length values";
        public const string ConnectionNotTokens = "Connection is not a list of tokens";
    }
}
