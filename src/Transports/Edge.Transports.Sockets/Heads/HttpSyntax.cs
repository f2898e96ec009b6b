using System.Buffers;

namespace Edge.Transports.Sockets;

/// <summary>The byte classes of HTTP/1.1's grammar (RFC 9110 §5.5, §5.6.2) that the stream head reader checks.</summary>
internal static class HttpSyntax
{
    private static readonly SearchValues<byte> TokenBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"u8);

    /// <summary>Visible ASCII, SP and HTAB: a field value without obs-text.</summary>
    private static readonly SearchValues<byte> AsciiValueBytes = SearchValues.Create(
        [(byte)'\t', .. Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b)]);

    /// <summary>RFC 3986 pchar without percent-escapes (unreserved, sub-delims, <c>:</c>, <c>@</c>) and <c>/</c>.</summary>
    private static readonly SearchValues<byte> PlainPathBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"u8);

    /// <summary>A query's characters besides percent-escapes: pchar, <c>/</c> and <c>?</c>.</summary>
    private static readonly SearchValues<byte> PlainQueryBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?"u8);

    /// <summary>The unreserved characters of a host name or IPv4 address (no escapes, no sub-delims).</summary>
    private static readonly SearchValues<byte> PlainHostBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"u8);

    /// <summary>A non-empty token.</summary>
    public static bool IsToken(ReadOnlySpan<byte> text) => !text.IsEmpty && text.IndexOfAnyExcept(TokenBytes) < 0;

    /// <summary>A field value of visible ASCII, SP and HTAB only (what a request read below Kestrel may carry).</summary>
    public static bool IsAsciiFieldValue(ReadOnlySpan<byte> value) => value.IndexOfAnyExcept(AsciiValueBytes) < 0;

    /// <summary>A path of plain characters only: nothing to decode.</summary>
    public static bool IsPlainPath(ReadOnlySpan<byte> path) => path.IndexOfAnyExcept(PlainPathBytes) < 0;

    /// <summary>A query of plain characters and well-formed percent-escapes.</summary>
    public static bool IsPlainQuery(ReadOnlySpan<byte> query)
    {
        while (!query.IsEmpty)
        {
            var other = query.IndexOfAnyExcept(PlainQueryBytes);
            if (other < 0)
            {
                return true;
            }

            if (query[other] != (byte)'%' || other + 2 >= query.Length
                || !char.IsAsciiHexDigit((char)query[other + 1]) || !char.IsAsciiHexDigit((char)query[other + 2]))
            {
                return false;
            }

            query = query[(other + 3)..];
        }

        return true;
    }

    /// <summary>
    /// A <c>Host</c> value of the plainest kind: a name or IPv4 address of unreserved characters, or
    /// a bracketed IPv6 address, with an optional port of one to five digits. Empty is not plain.
    /// </summary>
    public static bool IsPlainHost(ReadOnlySpan<byte> host)
    {
        int portStart;
        if (!host.IsEmpty && host[0] == (byte)'[')
        {
            var close = host.IndexOf((byte)']');
            if (close < 2 || !System.Net.IPAddress.TryParse(System.Text.Encoding.ASCII.GetString(host[1..close]), out var address)
                || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || host[1..close].IndexOf((byte)'%') >= 0)
            {
                return false;
            }

            portStart = close + 1;
        }
        else
        {
            portStart = host.IndexOfAnyExcept(PlainHostBytes);
            if (portStart == 0 || host.IsEmpty)
            {
                return false;
            }

            if (portStart < 0)
            {
                return true;
            }
        }

        if (portStart == host.Length)
        {
            return true;
        }

        var port = host[(portStart + 1)..];
        return host[portStart] == (byte)':' && port.Length is >= 1 and <= 5 && port.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
    }
}
