using System.Buffers;
using System.Text;
using Edge.Http;
using Microsoft.Net.Http.Headers;

namespace Edge.Sse.Direct;

/// <summary>What <see cref="RequestHead.Read"/> made of the bytes received so far.</summary>
internal enum HeadReadResult
{
    /// <summary>More bytes are needed to decide.</summary>
    Incomplete,

    /// <summary>A plain HTTP/1.1 GET of one of the given paths, complete and alone in the buffer.</summary>
    Stream,

    /// <summary>Anything else: Kestrel's HTTP layer serves it, from the first byte.</summary>
    NotDirect,
}

/// <summary>
/// The head of a plain HTTP/1.1 <c>GET</c>, read straight from the connection's first bytes.
/// Only the simplest requests qualify (origin-form target without percent-escapes, no body, no
/// upgrade, no pipelined bytes after the head, visible ASCII only); every other request is left
/// untouched for Kestrel, which answers it (and any error in it) in full.
/// </summary>
internal sealed class RequestHead
{
    /// <summary>Longer heads are left to Kestrel, which enforces its own limits.</summary>
    public const int MaxHeadBytes = 16 * 1024;

    private const int MaxHeaders = 64;

    private RequestHead(StreamRoute route, string path, string query, string rawTarget, HeaderDictionary headers)
    {
        Route = route;
        Path = path;
        QueryString = query;
        RawTarget = rawTarget;
        Headers = headers;
    }

    /// <summary>The stream the path matched.</summary>
    public StreamRoute Route { get; }

    public string Path { get; }

    /// <summary>The query with its leading <c>?</c>, or empty.</summary>
    public string QueryString { get; }

    public string RawTarget { get; }

    public HeaderDictionary Headers { get; }

    /// <summary>
    /// Reads a head from the start of <paramref name="buffer"/>. <paramref name="matchStream"/>
    /// decides on the path as soon as the request line is complete, so an ordinary request is
    /// handed on without waiting for its headers.
    /// </summary>
    /// <param name="length">The head's length in bytes, when it is complete.</param>
    public static HeadReadResult Read(ReadOnlySequence<byte> buffer, Func<string, StreamRoute?> matchStream, out RequestHead? head, out int length)
    {
        head = null;
        length = 0;
        var prefix = "GET /"u8;
        var start = buffer.Length >= prefix.Length ? buffer.Slice(0, prefix.Length) : buffer;
        Span<byte> first = stackalloc byte[prefix.Length];
        start.CopyTo(first);
        if (!prefix.StartsWith(first[..(int)start.Length]))
        {
            return HeadReadResult.NotDirect;
        }

        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySpan<byte> requestLine, "\r\n"u8))
        {
            return buffer.Length > MaxHeadBytes ? HeadReadResult.NotDirect : HeadReadResult.Incomplete;
        }

        if (!TryReadRequestLine(requestLine, out var path, out var query, out var rawTarget) || matchStream(path) is not { } route)
        {
            return HeadReadResult.NotDirect;
        }

        if (reader.IsNext("\r\n"u8))
        {
            // No header lines at all, so no Host: Kestrel answers 400.
            return HeadReadResult.NotDirect;
        }

        if (!reader.TryReadTo(out ReadOnlySequence<byte> headerBlock, "\r\n\r\n"u8))
        {
            return buffer.Length > MaxHeadBytes ? HeadReadResult.NotDirect : HeadReadResult.Incomplete;
        }

        var headers = new HeaderDictionary();
        if (reader.Consumed > MaxHeadBytes || !reader.End || !TryReadHeaders(headerBlock.IsSingleSegment ? headerBlock.FirstSpan : headerBlock.ToArray(), headers))
        {
            // Bytes after the head (a pipelined request or a body), or a header Kestrel must judge.
            return HeadReadResult.NotDirect;
        }

        length = (int)reader.Consumed;
        head = new RequestHead(route, path, query, rawTarget, headers);
        return HeadReadResult.Stream;
    }

    private static bool TryReadRequestLine(ReadOnlySpan<byte> line, out string path, out string query, out string rawTarget)
    {
        path = query = rawTarget = string.Empty;
        var suffix = " HTTP/1.1"u8;
        if (!line.EndsWith(suffix))
        {
            return false;
        }

        var target = line["GET ".Length..^suffix.Length];
        if (target.IsEmpty || target[0] != (byte)'/' || target.Length > 8192)
        {
            return false;
        }

        foreach (var b in target)
        {
            // Percent-escapes need decoding and spaces mean a malformed line: Kestrel judges both.
            if (b is <= 0x20 or >= 0x7F or (byte)'%' or (byte)'#')
            {
                return false;
            }
        }

        rawTarget = Encoding.ASCII.GetString(target);
        var q = rawTarget.IndexOf('?', StringComparison.Ordinal);
        path = q < 0 ? rawTarget : rawTarget[..q];
        query = q < 0 ? string.Empty : rawTarget[q..];
        return !path.Contains("//", StringComparison.Ordinal) && !path.Contains("/.", StringComparison.Ordinal);
    }

    private static bool TryReadHeaders(ReadOnlySpan<byte> block, HeaderDictionary headers)
    {
        var hasHost = false;
        var count = 0;
        while (!block.IsEmpty)
        {
            var end = block.IndexOf("\r\n"u8);
            var line = end < 0 ? block : block[..end];
            block = end < 0 ? [] : block[(end + 2)..];
            if (++count > MaxHeaders)
            {
                return false;
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !HttpSyntax.IsToken(line[..colon]))
            {
                return false;
            }

            var rawValue = line[(colon + 1)..].Trim(" \t"u8);
            if (!HttpSyntax.IsAsciiFieldValue(rawValue))
            {
                return false;
            }

            var name = KnownName(line[..colon]);
            var value = Encoding.ASCII.GetString(rawValue);
            if (string.Equals(name, HeaderNames.Host, StringComparison.OrdinalIgnoreCase))
            {
                if (hasHost || value.Length == 0)
                {
                    return false;
                }

                hasHost = true;
            }
            else if (IsUnwanted(name, value))
            {
                return false;
            }

            headers.Append(name, value);
        }

        return hasHost;
    }

    /// <summary>A body, an upgrade or an expectation: Kestrel's to handle.</summary>
    private static bool IsUnwanted(string name, string value) =>
        (string.Equals(name, HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase) && value != "0")
        || string.Equals(name, HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, HeaderNames.Upgrade, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, HeaderNames.Expect, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "HTTP2-Settings", StringComparison.OrdinalIgnoreCase);

    private static readonly string[] CommonNames =
    [
        HeaderNames.Host, HeaderNames.Accept, HeaderNames.UserAgent, HeaderNames.CacheControl, HeaderNames.Connection,
        HeaderNames.Authorization, HeaderNames.Cookie, HeaderNames.Origin, HeaderNames.Referer, HeaderNames.AcceptEncoding,
        HeaderNames.AcceptLanguage, HeaderNames.Pragma, "Last-Event-ID", HeaderNames.ContentLength,
    ];

    private static string KnownName(ReadOnlySpan<byte> name)
    {
        foreach (var known in CommonNames)
        {
            if (known.Length == name.Length && Ascii.EqualsIgnoreCase(name, known))
            {
                return known;
            }
        }

        return Encoding.ASCII.GetString(name);
    }
}
