using System.Text;
using Edge.Http;

namespace Edge.Proxy.Direct;

/// <summary>What <see cref="ProxyRequestHead.Read"/> made of the bytes received so far.</summary>
internal enum ProxyHeadResult
{
    /// <summary>More bytes are needed to decide.</summary>
    Incomplete,

    /// <summary>A plain GET or HEAD for a direct route, complete, with nothing after it yet.</summary>
    Proxy,

    /// <summary>Anything else: Kestrel's HTTP layer (and YARP) serve it, from its first byte.</summary>
    NotDirect,
}

/// <summary>
/// The head of a client's HTTP/1.1 <c>GET</c> or <c>HEAD</c> without a body, read from a
/// keep-alive connection, and the head it becomes upstream: the request line verbatim (the
/// destination's path prefix before the target), <c>Host</c> set to the destination, hop-by-hop
/// headers and incoming <c>X-Forwarded-*</c> dropped, and <c>X-Forwarded-For/Proto/Host</c> set
/// as YARP's default transforms set them. Every other request (a body, an upgrade, an
/// expectation, percent-escapes, a header Kestrel must judge) is left unread for Kestrel.
/// </summary>
internal readonly struct ProxyRequestHead
{
    public const int MaxHeadBytes = 16 * 1024;

    private const int MaxHeaders = 100;

    private ProxyRequestHead(int length, bool isHead, bool close, DirectRoute route, Range target, Range host)
    {
        Length = length;
        IsHead = isHead;
        Close = close;
        Route = route;
        Target = target;
        Host = host;
    }

    /// <summary>The head's length in bytes, final blank line included.</summary>
    public int Length { get; }

    public bool IsHead { get; }

    /// <summary>The client asked to close the connection after this response.</summary>
    public bool Close { get; }

    public DirectRoute Route { get; }

    private Range Target { get; }

    private Range Host { get; }

    /// <summary>Reads a head from the start of <paramref name="buffer"/>; the route is matched as soon as the request line is complete.</summary>
    public static ProxyHeadResult Read(ReadOnlySpan<byte> buffer, Func<ReadOnlySpan<byte>, DirectRoute?> match, out ProxyRequestHead head)
    {
        head = default;
        bool isHead;
        if (StartsWithOrIsPrefix(buffer, "GET /"u8, out var undecided))
        {
            isHead = false;
        }
        else if (!undecided && StartsWithOrIsPrefix(buffer, "HEAD /"u8, out undecided))
        {
            isHead = true;
        }
        else
        {
            return undecided ? ProxyHeadResult.Incomplete : ProxyHeadResult.NotDirect;
        }

        if (undecided)
        {
            return ProxyHeadResult.Incomplete;
        }

        var lineEnd = buffer.IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            return buffer.Length > MaxHeadBytes ? ProxyHeadResult.NotDirect : ProxyHeadResult.Incomplete;
        }

        var targetStart = isHead ? 5 : 4;
        var line = buffer[..lineEnd];
        var suffix = " HTTP/1.1"u8;
        if (!line.EndsWith(suffix) || line.Length - suffix.Length <= targetStart)
        {
            return ProxyHeadResult.NotDirect;
        }

        var targetEnd = line.Length - suffix.Length;
        var target = line[targetStart..targetEnd];
        if (!IsPlainTarget(target, out var pathLength) || match(target[..pathLength]) is not { } route)
        {
            return ProxyHeadResult.NotDirect;
        }

        var end = buffer.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return buffer.Length > MaxHeadBytes ? ProxyHeadResult.NotDirect : ProxyHeadResult.Incomplete;
        }

        var length = end + 4;
        if (length > MaxHeadBytes || length != buffer.Length || end == lineEnd)
        {
            // A pipelined request or a body after the head, or no header lines (no Host): Kestrel's.
            return ProxyHeadResult.NotDirect;
        }

        if (!TryReadHeaders(buffer, lineEnd + 2, end, out var host, out var close))
        {
            return ProxyHeadResult.NotDirect;
        }

        head = new ProxyRequestHead(length, isHead, close, route, new Range(targetStart, targetEnd), host);
        return ProxyHeadResult.Proxy;
    }

    /// <summary>
    /// Writes the upstream request for this head (read from <paramref name="buffer"/>) into
    /// <paramref name="destination"/>; returns its length, or -1 when it does not fit.
    /// </summary>
    public int WriteUpstream(ReadOnlySpan<byte> buffer, DirectDestination destination, ReadOnlySpan<byte> clientAddress, Span<byte> output)
    {
        var writer = new SpanWriter(output);
        writer.Write(IsHead ? "HEAD "u8 : "GET "u8);
        writer.Write(destination.PathPrefix);
        writer.Write(buffer[Target]);
        writer.Write(" HTTP/1.1\r\nHost: "u8);
        writer.Write(destination.Authority);
        writer.Write("\r\n"u8);

        var lines = buffer[(buffer.IndexOf("\r\n"u8) + 2)..(Length - 2)];
        while (!lines.IsEmpty)
        {
            var lineEnd = lines.IndexOf("\r\n"u8);
            var line = lines[..(lineEnd + 2)];
            lines = lines[(lineEnd + 2)..];
            var name = line[..line.IndexOf((byte)':')];
            if (!IsDropped(name))
            {
                writer.Write(line);
            }
        }

        writer.Write("X-Forwarded-For: "u8);
        writer.Write(clientAddress);
        writer.Write("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: "u8);
        writer.Write(buffer[Host]);
        writer.Write("\r\n\r\n"u8);
        return writer.Failed ? -1 : writer.Written;
    }

    private static bool StartsWithOrIsPrefix(ReadOnlySpan<byte> buffer, ReadOnlySpan<byte> prefix, out bool undecided)
    {
        undecided = false;
        if (buffer.Length >= prefix.Length)
        {
            return buffer.StartsWith(prefix);
        }

        undecided = prefix.StartsWith(buffer);
        return undecided;
    }

    private static bool IsPlainTarget(ReadOnlySpan<byte> target, out int pathLength)
    {
        pathLength = target.IndexOf((byte)'?');
        if (pathLength < 0)
        {
            pathLength = target.Length;
        }

        if (target.Length > 8192)
        {
            return false;
        }

        foreach (var b in target)
        {
            // Percent-escapes need decoding to match routes, and spaces mean a malformed line: Kestrel judges both.
            // YARP sends the characters Uri escapes ("<>^`{|} anywhere, [] in the path) escaped: it forwards those.
            if (b is <= 0x20 or >= 0x7F or (byte)'%' or (byte)'#' or (byte)'\\' or (byte)'"' or (byte)'<' or (byte)'>' or (byte)'^' or (byte)'`' or (byte)'{' or (byte)'|' or (byte)'}')
            {
                return false;
            }
        }

        var path = target[..pathLength];
        return path.IndexOf("//"u8) < 0 && path.IndexOf("/."u8) < 0 && path.IndexOfAny((byte)'[', (byte)']') < 0;
    }

    private static bool TryReadHeaders(ReadOnlySpan<byte> buffer, int start, int end, out Range host, out bool close)
    {
        host = default;
        close = false;
        var hasHost = false;
        var count = 0;
        var position = start;
        while (position < end)
        {
            var lineLength = buffer[position..].IndexOf("\r\n"u8);
            var line = buffer.Slice(position, lineLength);
            if (++count > MaxHeaders)
            {
                return false;
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !HttpSyntax.IsToken(line[..colon]))
            {
                return false;
            }

            var name = line[..colon];
            var rawValue = line[(colon + 1)..];
            var value = rawValue.Trim(" \t"u8);
            var valueStart = colon + 1 + (rawValue.Length - rawValue.TrimStart(" \t"u8).Length);
            if (!HttpSyntax.IsAsciiFieldValue(value))
            {
                return false;
            }

            if (Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                if (hasHost || value.IsEmpty || !IsPlainHost(value))
                {
                    return false;
                }

                hasHost = true;
                host = new Range(position + valueStart, position + valueStart + value.Length);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                if (!TryReadConnection(value, ref close))
                {
                    return false;
                }
            }
            else if (IsKestrels(name, value))
            {
                return false;
            }

            position += lineLength + 2;
        }

        return hasHost;
    }

    /// <summary>Only <c>close</c> and <c>keep-alive</c>: a header named as hop-by-hop is YARP's to drop.</summary>
    private static bool TryReadConnection(ReadOnlySpan<byte> value, ref bool close)
    {
        foreach (var range in value.Split((byte)','))
        {
            var token = value[range].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(token, "close"u8))
            {
                close = true;
            }
            else if (!token.IsEmpty && !Ascii.EqualsIgnoreCase(token, "keep-alive"u8))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A body, an upgrade, an expectation or a TE request: Kestrel's to handle.</summary>
    private static bool IsKestrels(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
        (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) && !value.SequenceEqual("0"u8))
        || Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8)
        || Ascii.EqualsIgnoreCase(name, "Upgrade"u8)
        || Ascii.EqualsIgnoreCase(name, "Expect"u8)
        || Ascii.EqualsIgnoreCase(name, "HTTP2-Settings"u8)
        || Ascii.EqualsIgnoreCase(name, "TE"u8);

    /// <summary>
    /// Headers not sent upstream: hop-by-hop ones and the others YARP never forwards, the client's Host,
    /// and <c>Forwarded</c> and the X-Forwarded-* that YARP's default transforms remove or set.
    /// </summary>
    private static bool IsDropped(ReadOnlySpan<byte> name) =>
        Ascii.EqualsIgnoreCase(name, "Host"u8)
        || Ascii.EqualsIgnoreCase(name, "Connection"u8)
        || Ascii.EqualsIgnoreCase(name, "Keep-Alive"u8)
        || Ascii.EqualsIgnoreCase(name, "Proxy-Connection"u8)
        || Ascii.EqualsIgnoreCase(name, "Content-Length"u8)
        || UpstreamResponseHead.IsNeverForwarded(name)
        || Ascii.EqualsIgnoreCase(name, "Forwarded"u8)
        || Ascii.EqualsIgnoreCase(name, "X-Forwarded-For"u8)
        || Ascii.EqualsIgnoreCase(name, "X-Forwarded-Proto"u8)
        || Ascii.EqualsIgnoreCase(name, "X-Forwarded-Host"u8)
        || Ascii.EqualsIgnoreCase(name, "X-Forwarded-Prefix"u8);

    private static bool IsPlainHost(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            var ok = b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'.' or (byte)'-' or (byte)':' or (byte)'[' or (byte)']' or (byte)'_';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private ref struct SpanWriter(Span<byte> output)
    {
        private readonly Span<byte> _output = output;

        public int Written { get; private set; }

        public bool Failed { get; private set; }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            if (Failed || !bytes.TryCopyTo(_output[Written..]))
            {
                Failed = true;
                return;
            }

            Written += bytes.Length;
        }
    }
}
