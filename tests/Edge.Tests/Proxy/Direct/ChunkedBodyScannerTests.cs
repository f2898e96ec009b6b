using System.Text;
using Edge.Proxy.Direct;
using Xunit;
using E = Edge.Proxy.Direct.ChunkedBodyScanner.Errors;

namespace Edge.Tests.Proxy.Direct;

public sealed class ChunkedBodyScannerTests
{
    private const string NextResponse = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>
    /// Feeds <paramref name="data"/> cut at <paramref name="cuts"/> to one scanner until it stops asking for more;
    /// checks that every NeedMore consumed its whole piece. Returns the result and where in <paramref name="data"/> it stopped.
    /// </summary>
    private static (ChunkScanResult Result, int Offset, string? Error) Scan(byte[] data, params int[] cuts)
    {
        var scanner = default(ChunkedBodyScanner);
        var start = 0;
        foreach (var end in cuts.Append(data.Length))
        {
            var piece = data.AsSpan(start, end - start);
            var result = scanner.Advance(piece, out var consumed);
            if (result != ChunkScanResult.NeedMore)
            {
                Assert.Equal(result == ChunkScanResult.Invalid, scanner.Error is not null);
                return (result, start + consumed, scanner.Error);
            }

            Assert.Equal(piece.Length, consumed);
            Assert.Null(scanner.Error);
            start = end;
        }

        return (ChunkScanResult.NeedMore, data.Length, null);
    }

    private static int[] EveryByte(int length) => Enumerable.Range(1, length - 1).ToArray();

    [Fact]
    public void ASimpleBody_IsComplete_AtItsLastByte()
    {
        var body = Bytes("5\r\nhello\r\n0\r\n\r\n");
        var scanner = default(ChunkedBodyScanner);

        Assert.Equal(ChunkScanResult.Complete, scanner.Advance(body, out var consumed));
        Assert.Equal(body.Length, consumed);
        Assert.Null(scanner.Error);
    }

    [Fact]
    public void BytesOfTheNextResponse_AreNotConsumed()
    {
        const string body = "5\r\nhello\r\n0\r\nX-Sum: 5\r\n\r\n";
        var scanner = default(ChunkedBodyScanner);

        Assert.Equal(ChunkScanResult.Complete, scanner.Advance(Bytes(body + NextResponse), out var consumed));
        Assert.Equal(body.Length, consumed);
    }

    public static TheoryData<string> ValidBodies => new()
    {
        "5\r\nhello\r\n0\r\n\r\n",
        "1\r\na\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
        "A;name=value;flag\r\n0123456789\r\n0;last\r\n\r\n",
        "a \t; ext=\"q;\\\"x\"\r\n0123456789\r\n0\r\n\r\n",
        "0000000000000005\r\nhello\r\n000\r\n\r\n",
        "7\r\n0\r\n\r\n\n\r\r\n0\r\nExpires: never\r\nX-Sum:1\r\nX-Empty:\r\n\r\n",
        "0\r\nX-Latin: caf\u00e9\t\r\n\r\n",
        "0\r\n\r\n",
    };

    [Theory]
    [MemberData(nameof(ValidBodies))]
    public void AValidBody_SplitAnywhere_EndsExactlyAtItsLastByte(string text)
    {
        var body = Bytes(text);
        var data = Bytes(text + NextResponse);
        var expected = (ChunkScanResult.Complete, body.Length, (string?)null);

        Assert.Equal(expected, Scan(data));
        Assert.Equal(expected, Scan(data, EveryByte(data.Length)));
        for (var first = 1; first < data.Length; first++)
        {
            Assert.Equal(expected, Scan(data, first));
            for (var second = first + 1; second < data.Length; second++)
            {
                Assert.Equal(expected, Scan(data, first, second));
            }
        }

        for (var end = 0; end < body.Length; end++)
        {
            Assert.Equal((ChunkScanResult.NeedMore, end, (string?)null), Scan(data[..end]));
        }
    }

    [Theory]
    // Chunk data and its CRLF
    [InlineData("5\r\nhelloX\r\n0\r\n\r\n", 8, E.DataNotFollowedByCrlf)]
    [InlineData("5\r\nhello\n0\r\n\r\n", 8, E.DataNotFollowedByCrlf)]
    [InlineData("5\r\nhello\rX0\r\n\r\n", 9, E.DataNotFollowedByCrlf)]
    [InlineData("5\r\nhello world\r\n0\r\n\r\n", 8, E.DataNotFollowedByCrlf)]
    // Chunk size line
    [InlineData("\r\n", 0, E.SizeMissing)]
    [InlineData(";ext\r\n", 0, E.SizeMissing)]
    [InlineData(" 5\r\n", 0, E.SizeMissing)]
    [InlineData("\n", 0, E.BareLf)]
    [InlineData("G\r\n", 0, E.SizeNotHex)]
    [InlineData("-5\r\n", 0, E.SizeNotHex)]
    [InlineData("0x5\r\n", 1, E.SizeNotHex)]
    [InlineData("5g\r\n", 1, E.SizeNotHex)]
    [InlineData("5\n", 1, E.BareLf)]
    [InlineData("5\rX", 2, E.BareCr)]
    [InlineData("5 \r\n", 2, E.SpaceAfterSize)]
    [InlineData("5;ext\n", 5, E.BareLf)]
    [InlineData("5;e\u0001\r\n", 3, E.ControlInExtension)]
    [InlineData("4000000000000001\r\n", 15, E.SizeTooLarge)]
    [InlineData("FFFFFFFFFFFFFFFF\r\n", 15, E.SizeTooLarge)]
    [InlineData("00000000000000001\r\n", 16, E.SizeTooManyDigits)]
    [InlineData("5\r\nhello\r\n\r\n", 10, E.SizeMissing)]
    // Trailer section
    [InlineData("0\r\nBad Name: v\r\n\r\n", 6, E.TrailerSpaceInName)]
    [InlineData("0\r\nName : v\r\n\r\n", 7, E.TrailerSpaceInName)]
    [InlineData("0\r\n folded\r\n\r\n", 3, E.TrailerObsFold)]
    [InlineData("0\r\nX: 1\r\n\tfolded\r\n\r\n", 9, E.TrailerObsFold)]
    [InlineData("0\r\n: v\r\n\r\n", 3, E.TrailerEmptyName)]
    [InlineData("0\r\nNoColon\r\n\r\n", 10, E.TrailerNoColon)]
    [InlineData("0\r\nX(y): v\r\n\r\n", 4, E.TrailerNameNotToken)]
    [InlineData("0\r\nX: a\u0000\r\n\r\n", 7, E.ControlInTrailer)]
    [InlineData("0\r\nX: v\n\r\n", 7, E.BareLf)]
    [InlineData("0\r\nX: v\r\r\n", 8, E.BareCr)]
    [InlineData("0\r\n\n", 3, E.BareLf)]
    [InlineData("0\r\n\rX", 4, E.BareCr)]
    public void MalformedFraming_SplitAnywhere_IsInvalidAtTheOffendingByte(string text, int offset, string error)
    {
        var data = Bytes(text);
        var expected = (ChunkScanResult.Invalid, offset, error);

        Assert.Equal(expected, Scan(data));
        Assert.Equal(expected, Scan(data, EveryByte(data.Length)));
        for (var cut = 1; cut < data.Length; cut++)
        {
            Assert.Equal(expected, Scan(data, cut));
        }
    }

    [Fact]
    public void AfterTheEnd_OrAfterAnError_TheScannerConsumesNothingMore()
    {
        var complete = default(ChunkedBodyScanner);
        Assert.Equal(ChunkScanResult.Complete, complete.Advance(Bytes("0\r\n\r\n"), out _));
        Assert.Equal(ChunkScanResult.Complete, complete.Advance(Bytes("5\r\nhello\r\n"), out var consumed));
        Assert.Equal(0, consumed);

        var invalid = default(ChunkedBodyScanner);
        Assert.Equal(ChunkScanResult.Invalid, invalid.Advance(Bytes("x"), out _));
        Assert.Equal(ChunkScanResult.Invalid, invalid.Advance(Bytes("0\r\n\r\n"), out consumed));
        Assert.Equal(0, consumed);
        Assert.Equal(E.SizeNotHex, invalid.Error);
    }

    [Theory]
    [InlineData("4000000000000000\r\n")]
    [InlineData("3fffffffffffffff\r\n")]
    [InlineData("4000000000000000;ext=1\r\n")]
    public void TheLargestChunkSizes_AreAccepted(string sizeLine)
    {
        var data = Bytes(sizeLine + "some data, far from the end of the chunk");
        Assert.Equal((ChunkScanResult.NeedMore, data.Length, (string?)null), Scan(data));
    }

    [Fact]
    public void ASizeLineOf4096Bytes_IsAccepted_OneByteMoreIsInvalid()
    {
        const string end = "\r\nx\r\n0\r\n\r\n";
        var exact = "1;" + new string('e', ChunkedBodyScanner.MaxSizeLineBytes - 4);
        Assert.Equal(ChunkedBodyScanner.MaxSizeLineBytes, (exact + "\r\n").Length);

        var data = Bytes(exact + end);
        Assert.Equal((ChunkScanResult.Complete, data.Length, (string?)null), Scan(data, 1000, 4095, 4096));
        Assert.Equal((ChunkScanResult.Invalid, ChunkedBodyScanner.MaxSizeLineBytes, E.SizeLineTooLong), Scan(Bytes(exact + "e" + end), 4095));
    }

    [Fact]
    public void ATrailerSectionOf32KiB_IsAccepted_OneByteMoreIsInvalid()
    {
        // The trailer section runs from after "0\r\n" to the final CRLF included.
        var exact = "X-Pad: " + new string('p', ChunkedBodyScanner.MaxTrailerBytes - 7 - 4) + "\r\n\r\n";
        Assert.Equal(ChunkedBodyScanner.MaxTrailerBytes, exact.Length);

        var data = Bytes("0\r\n" + exact);
        Assert.Equal((ChunkScanResult.Complete, data.Length, (string?)null), Scan(data, 10_000));
        var tooLong = Bytes("0\r\nX-Pad: p" + exact[7..]);
        Assert.Equal((ChunkScanResult.Invalid, tooLong.Length - 1, E.TrailerTooLong), Scan(tooLong, 10_000));
    }

    [Fact]
    public void ChunkData_IsNotParsed_EvenWhenItLooksLikeTheEnd()
    {
        var data = Enumerable.Repeat((byte)'x', 0xFFFF).ToArray();
        var pattern = Bytes("\r\n0\r\n\r\n");
        for (var i = 0; i + pattern.Length <= data.Length; i += 100)
        {
            pattern.CopyTo(data, i);
        }

        var body = Bytes("ffff\r\n").Concat(data).Concat(Bytes("\r\n0\r\n\r\n")).ToArray();
        var input = body.Concat(Bytes(NextResponse)).ToArray();
        var cuts = Enumerable.Range(1, input.Length / 997).Select(i => i * 997).ToArray();

        Assert.Equal((ChunkScanResult.Complete, body.Length, (string?)null), Scan(input, cuts));
    }

    [Fact]
    public void Scanning_AllocatesNothing()
    {
        var body = Bytes("5;x=y\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-Sum: 1\r\n\r\n");
        var bad = Bytes("5\r\nhelloX");
        var total = 0;

        void Run()
        {
            var scanner = default(ChunkedBodyScanner);
            for (var i = 0; i < body.Length; i += 7)
            {
                scanner.Advance(body.AsSpan(i, Math.Min(7, body.Length - i)), out var consumed);
                total += consumed;
            }

            var failing = default(ChunkedBodyScanner);
            failing.Advance(bad, out _);
        }

        Run();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Run();
        }

        Assert.Equal(0L, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(101 * body.Length, total);
    }
}
