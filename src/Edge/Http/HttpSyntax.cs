using System.Buffers;

namespace Edge.Http;

/// <summary>The byte classes of HTTP/1.1's grammar (RFC 9110 §5.5, §5.6.2) that the edge's own head readers check.</summary>
internal static class HttpSyntax
{
    private static readonly SearchValues<byte> TokenBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"u8);

    /// <summary>Visible ASCII, SP and HTAB: a field value without obs-text.</summary>
    private static readonly SearchValues<byte> AsciiValueBytes = SearchValues.Create(
        [(byte)'\t', .. Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b)]);

    /// <summary>A byte allowed in a token, such as a field name.</summary>
    public static bool IsTokenByte(byte b) => TokenBytes.Contains(b);

    /// <summary>A non-empty token.</summary>
    public static bool IsToken(ReadOnlySpan<byte> text) => !text.IsEmpty && text.IndexOfAnyExcept(TokenBytes) < 0;

    /// <summary>A byte allowed in a field value or reason phrase: visible ASCII, SP, HTAB or obs-text.</summary>
    public static bool IsTextByte(byte b) => b == (byte)'\t' || (b >= 0x20 && b != 0x7F);

    /// <summary>A field value of visible ASCII, SP and HTAB only (what a request read below Kestrel may carry).</summary>
    public static bool IsAsciiFieldValue(ReadOnlySpan<byte> value) => value.IndexOfAnyExcept(AsciiValueBytes) < 0;
}
