using System.Buffers;
using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Edge.Transports.Sockets;

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
/// Only the simplest requests qualify (origin-form target of unreserved characters, no body, no
/// upgrade, no pipelined bytes after the head, CR LF line endings, a valid <c>Host</c>, visible
/// ASCII only, within Kestrel's own limits); every other request is left untouched for Kestrel,
/// which answers it (and any error in it) in full. What qualifies is a strict subset of what
/// Kestrel accepts, so a head read here is one Kestrel would have served the same way.
/// </summary>
internal sealed class RequestHead
{
    /// <summary>Longer heads are left to Kestrel, which enforces its own limits.</summary>
    public const int MaxHeadBytes = 16 * 1024;

    private static readonly SearchValues<byte> LineBreaks = SearchValues.Create("\r\n"u8);

    private RequestHead(object route, string path, string query, string rawTarget, HeaderDictionary headers)
    {
        Route = route;
        Path = path;
        QueryString = query;
        RawTarget = rawTarget;
        Headers = headers;
    }

    /// <summary>The stream the path matched (the host's token, see <see cref="IDirectStreamEndpoint.Match"/>).</summary>
    public object Route { get; }

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
    /// <param name="limits">Kestrel's limits, narrowed to what this reader serves; default <see cref="HeadLimits.Default"/>.</param>
    public static HeadReadResult Read(ReadOnlySequence<byte> buffer, Func<string, object?> matchStream, out RequestHead? head, out int length, HeadLimits? limits = null)
    {
        head = null;
        length = 0;
        var max = limits ?? HeadLimits.Default;
        if (buffer.IsSingleSegment)
        {
            return Read(buffer.FirstSpan, matchStream, max, out head, out length);
        }

        var copy = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length, MaxHeadBytes + 1));
        try
        {
            var taken = buffer.Slice(0, Math.Min(buffer.Length, copy.Length));
            taken.CopyTo(copy);
            return Read(copy.AsSpan(0, (int)taken.Length), matchStream, max, out head, out length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private static HeadReadResult Read(ReadOnlySpan<byte> bytes, Func<string, object?> matchStream, HeadLimits limits, out RequestHead? head, out int length)
    {
        head = null;
        length = 0;
        var prefix = "GET /"u8;
        if (!prefix.StartsWith(bytes[..Math.Min(bytes.Length, prefix.Length)]))
        {
            return HeadReadResult.NotDirect;
        }

        var window = bytes[..Math.Min(bytes.Length, limits.MaxHeadBytes + 4)];
        if (HasBareLineBreak(window))
        {
            // LF-only or CR-only line endings: valid for some parsers, not worth a second opinion here.
            return HeadReadResult.NotDirect;
        }

        var lineEnd = window.IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            return bytes.Length > limits.MaxRequestLineBytes ? HeadReadResult.NotDirect : HeadReadResult.Incomplete;
        }

        if (lineEnd + 2 > limits.MaxRequestLineBytes
            || !TryReadRequestLine(bytes[..lineEnd], out var path, out var query, out var rawTarget)
            || matchStream(path) is not { } route)
        {
            return HeadReadResult.NotDirect;
        }

        var rest = bytes[(lineEnd + 2)..];
        if (rest.StartsWith("\r\n"u8))
        {
            // No header lines at all, so no Host: Kestrel answers 400.
            return HeadReadResult.NotDirect;
        }

        var blockEnd = rest.IndexOf("\r\n\r\n"u8);
        if (blockEnd < 0)
        {
            return bytes.Length > limits.MaxHeadBytes ? HeadReadResult.NotDirect : HeadReadResult.Incomplete;
        }

        var total = lineEnd + 2 + blockEnd + 4;
        var headers = new HeaderDictionary();
        if (total > limits.MaxHeadBytes || total != bytes.Length || !TryReadHeaders(rest[..blockEnd], limits.MaxHeaders, headers))
        {
            // Bytes after the head (a pipelined request or a body), or a header Kestrel must judge.
            return HeadReadResult.NotDirect;
        }

        length = total;
        head = new RequestHead(route, path, query, rawTarget, headers);
        return HeadReadResult.Stream;
    }

    /// <summary>An LF without the CR before it, or a CR followed by anything but LF.</summary>
    private static bool HasBareLineBreak(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (true)
        {
            var found = bytes[offset..].IndexOfAny(LineBreaks);
            if (found < 0)
            {
                return false;
            }

            var at = offset + found;
            if (bytes[at] == (byte)'\n')
            {
                return true;
            }

            // A CR: the LF must follow (a CR at the very end waits for the next byte).
            if (at + 1 < bytes.Length && bytes[at + 1] != (byte)'\n')
            {
                return true;
            }

            offset = at + 2;
            if (offset >= bytes.Length)
            {
                return false;
            }
        }
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
        var q = target.IndexOf((byte)'?');
        var pathBytes = q < 0 ? target : target[..q];
        var queryBytes = q < 0 ? [] : target[(q + 1)..];

        // The path must need no decoding or normalization (Kestrel decodes escapes and removes dot
        // segments); the query is passed on raw by Kestrel too, so it may carry escapes.
        if (pathBytes.IsEmpty || pathBytes[0] != (byte)'/' || !HttpSyntax.IsPlainPath(pathBytes) || !HttpSyntax.IsPlainQuery(queryBytes)
            || pathBytes.IndexOf("//"u8) >= 0 || pathBytes.IndexOf("/."u8) >= 0)
        {
            return false;
        }

        rawTarget = Encoding.ASCII.GetString(target);
        path = q < 0 ? rawTarget : rawTarget[..q];
        query = q < 0 ? string.Empty : rawTarget[q..];
        return true;
    }

    private static bool TryReadHeaders(ReadOnlySpan<byte> block, int maxHeaders, HeaderDictionary headers)
    {
        var hasHost = false;
        var count = 0;
        while (!block.IsEmpty)
        {
            var end = block.IndexOf("\r\n"u8);
            var line = end < 0 ? block : block[..end];
            block = end < 0 ? [] : block[(end + 2)..];
            if (++count > maxHeaders)
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
            if (string.Equals(name, HeaderNames.Host, StringComparison.OrdinalIgnoreCase))
            {
                if (hasHost || !HttpSyntax.IsPlainHost(rawValue))
                {
                    // Two Hosts, an empty one or one Kestrel might judge differently: Kestrel decides.
                    return false;
                }

                hasHost = true;
            }
            else if (IsUnwanted(name, rawValue, headers))
            {
                return false;
            }

            // An empty value is a value, as Kestrel keeps it (Append would drop it).
            var value = new StringValues(Encoding.ASCII.GetString(rawValue));
            headers[name] = headers.TryGetValue(name, out var earlier) ? StringValues.Concat(earlier, value) : value;
        }

        return hasHost;
    }

    /// <summary>A body, an upgrade or an expectation: Kestrel's to handle.</summary>
    private static bool IsUnwanted(string name, ReadOnlySpan<byte> value, HeaderDictionary earlier) =>
        (string.Equals(name, HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase) && (!value.SequenceEqual("0"u8) || earlier.ContainsKey(HeaderNames.ContentLength)))

        // Only the two plain forms browsers and curl send; anything else is Kestrel's to judge.
        || (string.Equals(name, HeaderNames.Connection, StringComparison.OrdinalIgnoreCase) && ((!value.SequenceEqual("keep-alive"u8) && !value.SequenceEqual("close"u8)) || earlier.ContainsKey(HeaderNames.Connection)))
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

/// <summary>
/// The sizes up to which <see cref="RequestHead"/> reads a head itself: its own ceilings, lowered
/// to Kestrel's configured limits so that a head Kestrel would refuse is always left to Kestrel.
/// </summary>
internal sealed record HeadLimits(int MaxHeadBytes, int MaxRequestLineBytes, int MaxHeaders)
{
    public static HeadLimits Default { get; } = new(RequestHead.MaxHeadBytes, 8 * 1024, 64);

    /// <summary>Within Kestrel's request line size, total header size and header count.</summary>
    public static HeadLimits Within(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerLimits kestrel) => new(
        Math.Min(Default.MaxHeadBytes, kestrel.MaxRequestHeadersTotalSize),
        Math.Min(Default.MaxRequestLineBytes, kestrel.MaxRequestLineSize - 1),
        Math.Min(Default.MaxHeaders, kestrel.MaxRequestHeaderCount));
}
