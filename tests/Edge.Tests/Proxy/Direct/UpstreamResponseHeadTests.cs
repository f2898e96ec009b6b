using System.Text;
using Edge.Proxy.Direct;
using Xunit;
using E = Edge.Proxy.Direct.UpstreamResponseHead.Errors;

namespace Edge.Tests.Proxy.Direct;

public sealed class UpstreamResponseHeadTests
{
    private const string Ok = "HTTP/1.1 200 OK\r\n";

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    private static ResponseHeadStatus Read(string text, out UpstreamResponseHead head, bool requestMethodIsHead = false) =>
        UpstreamResponseHead.TryRead(Bytes(text), requestMethodIsHead, out head);

    private static string WriteClientHead(string text, bool closeClient)
    {
        var buffer = Bytes(text);
        Assert.Equal(ResponseHeadStatus.Complete, UpstreamResponseHead.TryRead(buffer, false, out var head));
        var destination = new byte[buffer.Length + 64];
        var written = head.WriteClientHead(buffer, destination, closeClient);
        Assert.True(written > 0);
        return Encoding.Latin1.GetString(destination, 0, written);
    }

    [Fact]
    public void ContentLengthResponse_IsComplete_WithItsHeadLengthAndKeepAlive()
    {
        const string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";

        Assert.Equal(ResponseHeadStatus.Complete, Read(head + "helloHTTP/1.1 200 OK\r\n", out var result));

        Assert.Equal(200, result.StatusCode);
        Assert.Equal(head.Length, result.HeadLength);
        Assert.Equal(ResponseFraming.ContentLength, result.Framing);
        Assert.Equal(5, result.ContentLength);
        Assert.True(result.KeepAlive);
        Assert.False(result.IsInterim);
        Assert.Null(result.Error);
    }

    public static TheoryData<string, bool> ValidHeads => new()
    {
        { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n", false },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false },
        { "HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false },
        { "HTTP/1.1 100 Continue\r\n\r\n", false },
        { "HTTP/1.1 204 \r\n\r\n", false },
        { "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", false },
        { "HTTP/1.1 200 caf\u00e9 \t ok\r\nX-Latin: caf\u00e9\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n", false },
        { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true },
        { "HTTP/1.1 200 OK\r\n\r\n", false },
    };

    [Theory]
    [MemberData(nameof(ValidHeads))]
    public void EveryPrefixOfAValidHead_IsIncomplete_UntilItsLastByte(string text, bool requestMethodIsHead)
    {
        var bytes = Bytes(text + "body bytes\r\n\r\n");
        Assert.Equal(ResponseHeadStatus.Complete, UpstreamResponseHead.TryRead(bytes, requestMethodIsHead, out var whole));
        Assert.Equal(text.Length, whole.HeadLength);

        for (var split = 0; split < text.Length; split++)
        {
            Assert.Equal(ResponseHeadStatus.Incomplete, UpstreamResponseHead.TryRead(bytes.AsSpan(0, split), requestMethodIsHead, out var partial));
            Assert.Equal(default, partial);
        }

        for (var end = text.Length; end <= bytes.Length; end++)
        {
            Assert.Equal(ResponseHeadStatus.Complete, UpstreamResponseHead.TryRead(bytes.AsSpan(0, end), requestMethodIsHead, out var head));
            Assert.Equal(whole, head);
        }
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length:10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: \t10 \t\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 0L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 7L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n", false, nameof(ResponseFraming.ContentLength), long.MaxValue, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\ncontent-length: 5\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 5L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, nameof(ResponseFraming.None), 0L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, nameof(ResponseFraming.None), 0L, true)]
    [InlineData("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.None), 0L, true)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.None), 0L, true)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false, nameof(ResponseFraming.None), 0L, true)]
    [InlineData("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", false, nameof(ResponseFraming.None), 0L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, nameof(ResponseFraming.Chunked), 0L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n", false, nameof(ResponseFraming.Chunked), 0L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, nameof(ResponseFraming.Chunked), 0L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", false, nameof(ResponseFraming.Chunked), 0L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,, \tchunked ,\r\n\r\n", false, nameof(ResponseFraming.Chunked), 0L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false, nameof(ResponseFraming.UntilClose), 0L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", false, nameof(ResponseFraming.UntilClose), 0L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, nameof(ResponseFraming.UntilClose), 0L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.Chunked), 0L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n", false, nameof(ResponseFraming.Chunked), 0L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", false, nameof(ResponseFraming.UntilClose), 0L, false)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, false)]
    [InlineData("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, true)]
    [InlineData("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", false, nameof(ResponseFraming.UntilClose), 0L, false)]
    [InlineData("HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: X-Trace, CLOSE\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, false)]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, true)]
    [InlineData("HTTP/1.1 200 OK\r\nX-Connection: close\r\nContent-Length: 10\r\n\r\n", false, nameof(ResponseFraming.ContentLength), 10L, true)]
    public void Framing_AndKeepAlive_FollowRfc9112(string text, bool requestMethodIsHead, string framing, long contentLength, bool keepAlive)
    {
        Assert.Equal(ResponseHeadStatus.Complete, Read(text, out var head, requestMethodIsHead));

        Assert.Equal(Enum.Parse<ResponseFraming>(framing), head.Framing);
        Assert.Equal(contentLength, head.ContentLength);
        Assert.Equal(keepAlive, head.KeepAlive);
        Assert.False(head.IsInterim);
    }

    [Fact]
    public void AStatusLineWithoutReasonOrSpace_IsAccepted_AsHttpClientAcceptsIt()
    {
        var bytes = Encoding.ASCII.GetBytes("HTTP/1.1 204\r\nX-A: b\r\n\r\n");
        Assert.Equal(ResponseHeadStatus.Complete, UpstreamResponseHead.TryRead(bytes, requestMethodIsHead: false, out var head));
        Assert.Equal(204, head.StatusCode);
        Assert.Equal(bytes.Length, head.HeadLength);
    }

    [Fact]
    public void ContinueThenOk_AreReadOneAfterTheOther()
    {
        const string interim = "HTTP/1.1 100 Continue\r\n\r\n";
        const string final = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
        var buffer = Bytes(interim + final + "ok");

        Assert.Equal(ResponseHeadStatus.Complete, UpstreamResponseHead.TryRead(buffer, false, out var first));
        Assert.Equal(100, first.StatusCode);
        Assert.True(first.IsInterim);
        Assert.Equal(ResponseFraming.None, first.Framing);
        Assert.Equal(interim.Length, first.HeadLength);

        Assert.Equal(ResponseHeadStatus.Complete, UpstreamResponseHead.TryRead(buffer.AsSpan(first.HeadLength), false, out var second));
        Assert.Equal(200, second.StatusCode);
        Assert.False(second.IsInterim);
        Assert.Equal(ResponseFraming.ContentLength, second.Framing);
        Assert.Equal(2, second.ContentLength);
        Assert.Equal(final.Length, second.HeadLength);
    }

    [Theory]
    [InlineData("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: close\r\nContent-Length: 10\r\n\r\n", false)]
    [InlineData("HTTP/1.1 102 Processing\r\n\r\n", true)]
    [InlineData("HTTP/1.1 199 \r\nTransfer-Encoding: chunked\r\n\r\n", false)]
    public void AnInterimHead_IsInterim_WithoutBody_AndKeepsTheConnection(string text, bool requestMethodIsHead)
    {
        Assert.Equal(ResponseHeadStatus.Complete, Read(text, out var head, requestMethodIsHead));

        Assert.True(head.IsInterim);
        Assert.Equal(ResponseFraming.None, head.Framing);
        Assert.Equal(0, head.ContentLength);
        Assert.True(head.KeepAlive);
        Assert.Equal(text.Length, head.HeadLength);
    }

    [Theory]
    // Status line
    [InlineData("HTTP/2 200 OK\r\n\r\n", E.NotHttp1)]
    [InlineData("HTTP/1.2 200 OK\r\n\r\n", E.NotHttp1)]
    [InlineData("http/1.1 200 OK\r\n\r\n", E.NotHttp1)]
    [InlineData("\r\nHTTP/1.1 200 OK\r\n\r\n", E.NotHttp1)]
    [InlineData("HTTP/1.1\r\n\r\n", E.NotHttp1)]
    [InlineData("HTTP/1.1  200 OK\r\n\r\n", E.StatusNotThreeDigits)]
    [InlineData("HTTP/1.1 20 OK\r\n\r\n", E.StatusNotThreeDigits)]
    [InlineData("HTTP/1.1 20\r\n\r\n", E.StatusNotThreeDigits)]
    [InlineData("HTTP/1.1 2x0 OK\r\n\r\n", E.StatusNotThreeDigits)]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n", E.StatusNotThreeDigits)]
    [InlineData("HTTP/1.1 099 Low\r\n\r\n", E.StatusOutOfRange)]
    [InlineData("HTTP/1.1 600 High\r\n\r\n", E.StatusOutOfRange)]
    [InlineData("HTTP/1.1 200OK\r\n\r\n", E.NoSpaceAfterStatus)]
    [InlineData("HTTP/1.1 200 O\u0001K\r\n\r\n", E.ControlInReason)]
    [InlineData("HTTP/1.1 200 O\u007fK\r\n\r\n", E.ControlInReason)]
    [InlineData("HTTP/1.1 200 OK\rX\r\n\r\n", E.ControlInReason)]
    // Line endings
    [InlineData("HTTP/1.1 200 OK\n\r\n", E.BareLf)]
    [InlineData(Ok + "X-A: 1\n\r\n", E.BareLf)]
    [InlineData(Ok + "X-A: 1\r\n\n", E.BareLf)]
    [InlineData(Ok + "\n", E.BareLf)]
    // Field lines
    [InlineData(Ok + "NoColon\r\n\r\n", E.NoColon)]
    [InlineData(Ok + ": value\r\n\r\n", E.EmptyName)]
    [InlineData(Ok + "Bad Name: v\r\n\r\n", E.NameNotToken)]
    [InlineData(Ok + "X(y): v\r\n\r\n", E.NameNotToken)]
    [InlineData(Ok + "Caf\u00e9: v\r\n\r\n", E.NameNotToken)]
    [InlineData(Ok + "Name : v\r\n\r\n", E.SpaceBeforeColon)]
    [InlineData(Ok + "Name\t: v\r\n\r\n", E.SpaceBeforeColon)]
    [InlineData(Ok + "X-A: 1\r\n folded\r\n\r\n", E.ObsFold)]
    [InlineData(Ok + "\tX-A: 1\r\n\r\n", E.ObsFold)]
    [InlineData(Ok + "X: a\u0000b\r\n\r\n", E.ControlInValue)]
    [InlineData(Ok + "X: a\rb\r\n\r\n", E.ControlInValue)]
    [InlineData(Ok + "X: a\u001bb\r\n\r\n", E.ControlInValue)]
    [InlineData(Ok + "X: a\u007fb\r\n\r\n", E.ControlInValue)]
    // Content-Length
    [InlineData(Ok + "Content-Length: -5\r\n\r\n", E.ContentLengthNotNumber)]
    [InlineData(Ok + "Content-Length: +5\r\n\r\n", E.ContentLengthNotNumber)]
    [InlineData(Ok + "Content-Length: 5 5\r\n\r\n", E.ContentLengthNotNumber)]
    [InlineData(Ok + "Content-Length: 5a\r\n\r\n", E.ContentLengthNotNumber)]
    [InlineData(Ok + "Content-Length: 0x5\r\n\r\n", E.ContentLengthNotNumber)]
    [InlineData(Ok + "Content-Length: 1.0\r\n\r\n", E.ContentLengthNotNumber)]
    [InlineData(Ok + "Content-Length:\r\n\r\n", E.ContentLengthNotNumber)]
    [InlineData(Ok + "Content-Length: 5,,5\r\n\r\n", E.ContentLengthNotNumber)]
    [InlineData(Ok + "Content-Length: 5,\r\n\r\n", E.ContentLengthNotNumber)]
    [InlineData(Ok + "Content-Length: 9223372036854775808\r\n\r\n", E.ContentLengthTooLarge)]
    [InlineData(Ok + "Content-Length: 99999999999999999999\r\n\r\n", E.ContentLengthTooLarge)]
    [InlineData(Ok + "Content-Length: 5, 6\r\n\r\n", E.ContentLengthConflict)]
    [InlineData(Ok + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", E.ContentLengthConflict)]
    [InlineData("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", E.ContentLengthConflict)]
    // Transfer-Encoding
    [InlineData(Ok + "Transfer-Encoding: chunked, chunked\r\n\r\n", E.ChunkedTwice)]
    [InlineData(Ok + "Transfer-Encoding: chunked\r\nTransfer-Encoding: Chunked\r\n\r\n", E.ChunkedTwice)]
    [InlineData(Ok + "Transfer-Encoding:\r\n\r\n", E.TransferEncodingEmpty)]
    [InlineData(Ok + "Transfer-Encoding: ,\r\n\r\n", E.TransferEncodingEmpty)]
    [InlineData(Ok + "Transfer-Encoding: chunked;q=1\r\n\r\n", E.TransferEncodingNotCodings)]
    [InlineData(Ok + "Transfer-Encoding: gzip chunked\r\n\r\n", E.TransferEncodingNotCodings)]
    [InlineData("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", E.TransferEncodingInHttp10)]
    // Connection
    [InlineData(Ok + "Connection: close keep-alive\r\n\r\n", E.ConnectionNotTokens)]
    [InlineData(Ok + "Connection: \"close\"\r\n\r\n", E.ConnectionNotTokens)]
    // Status semantics
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", E.SwitchingProtocols)]
    [InlineData("HTTP/1.0 100 Continue\r\n\r\n", E.InterimInHttp10)]
    public void AMalformedHead_IsInvalid_WithItsReason(string text, string error)
    {
        Assert.Equal(ResponseHeadStatus.Invalid, Read(text, out var head));

        Assert.Equal(error, head.Error);
        Assert.Equal(0, head.HeadLength);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n")]
    [InlineData("HTTP/1.1 2x0 OK\r\nContent-Length: 5\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 5\r\n\r\n")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\n\r\n")]
    public void EveryPrefixOfAMalformedHead_IsIncompleteUntilInvalid_ThenStaysInvalid(string text)
    {
        var bytes = Bytes(text);
        var invalid = false;
        for (var end = 0; end <= bytes.Length; end++)
        {
            var status = UpstreamResponseHead.TryRead(bytes.AsSpan(0, end), false, out var head);
            if (invalid)
            {
                Assert.Equal(ResponseHeadStatus.Invalid, status);
            }
            else
            {
                Assert.NotEqual(ResponseHeadStatus.Complete, status);
                invalid = status == ResponseHeadStatus.Invalid;
            }

            Assert.Equal(invalid, head.Error is not null);
        }

        Assert.True(invalid);
    }

    [Theory]
    [InlineData("HTTP/2", E.NotHttp1)]
    [InlineData("HTTP/1.1 20x", E.StatusNotThreeDigits)]
    [InlineData("HTTP/1.1 700", E.StatusOutOfRange)]
    [InlineData("HTTP/1.1 200 O\u0000", E.ControlInReason)]
    [InlineData("HTTP/1.1 200 OK\r\r", E.ControlInReason)]
    [InlineData("HTTP/1.1 200 OK\r\nX-A: 1\n", E.BareLf)]
    [InlineData("HTTP/1.1 200 OK\r\n folded", E.ObsFold)]
    [InlineData("HTTP/1.1 200 OK\r\nBad Nam", E.NameNotToken)]
    [InlineData("HTTP/1.1 200 OK\r\nName ", E.SpaceBeforeColon)]
    [InlineData("HTTP/1.1 200 OK\r\n:", E.EmptyName)]
    [InlineData("HTTP/1.1 200 OK\r\nX: a\u0001", E.ControlInValue)]
    [InlineData("HTTP/1.1 200 OK\r\nX: a\rb", E.ControlInValue)]
    public void AnImpossibleStart_IsInvalid_BeforeTheHeadEnds(string text, string error)
    {
        Assert.Equal(ResponseHeadStatus.Invalid, Read(text, out var head));
        Assert.Equal(error, head.Error);
    }

    [Fact]
    public void AHeadOfMaxHeadBytes_IsComplete_OneByteMoreIsInvalid()
    {
        const string start = "HTTP/1.1 200 OK\r\nX-Pad: ";
        var exact = start + new string('p', UpstreamResponseHead.MaxHeadBytes - start.Length - 4) + "\r\n\r\n";
        Assert.Equal(UpstreamResponseHead.MaxHeadBytes, exact.Length);
        var tooLong = start + new string('p', UpstreamResponseHead.MaxHeadBytes - start.Length - 3) + "\r\n\r\n";

        Assert.Equal(ResponseHeadStatus.Complete, Read(exact + "body", out var head));
        Assert.Equal(UpstreamResponseHead.MaxHeadBytes, head.HeadLength);
        Assert.Equal(ResponseHeadStatus.Incomplete, Read(tooLong[..(UpstreamResponseHead.MaxHeadBytes - 1)], out _));
        Assert.Equal(ResponseHeadStatus.Invalid, Read(tooLong[..UpstreamResponseHead.MaxHeadBytes], out head));
        Assert.Equal(E.HeadTooLong, head.Error);
        Assert.Equal(ResponseHeadStatus.Invalid, Read(tooLong, out head));
        Assert.Equal(E.HeadTooLong, head.Error);
    }

    [Fact]
    public void WriteClientHead_DropsHopByHopAndConnectionNamedLines_AndKeepsTheRestVerbatim()
    {
        const string text =
            "HTTP/1.1 200 Tr\u00e8s bien\r\n"
            + "Content-Type: text/event-stream\r\n"
            + "Connection: keep-alive, X-Trace\r\n"
            + "x-trace: 1\r\n"
            + "Keep-Alive: timeout=5\r\n"
            + "Transfer-Encoding: chunked\r\n"
            + "Proxy-Connection: keep-alive\r\n"
            + "te: trailers\r\n"
            + "Trailer: X-Sum\r\n"
            + "UPGRADE: h2c\r\n"
            + "connection: ,x-other ,\r\n"
            + "X-Other:  spaced value \r\n"
            + "X-Kept:a\r\n"
            + "Cache-Control: no-cache\r\n"
            + "Connection-Id: 7\r\n"
            + "Upgrade-Id: 1\r\n"
            + "Upgrade-Insecure-Requests: 1\r\n"
            + "Alt-Svc: h3=\":443\"\r\n"
            + "\r\n"
            + "5\r\nhello\r\n0\r\n\r\n";

        Assert.Equal(
            "HTTP/1.1 200 Tr\u00e8s bien\r\n"
            + "Content-Type: text/event-stream\r\n"
            + "Transfer-Encoding: chunked\r\n"
            + "X-Kept:a\r\n"
            + "Cache-Control: no-cache\r\n"
            + "Connection-Id: 7\r\n"
            + "Upgrade-Id: 1\r\n"
            + "\r\n",
            WriteClientHead(text, closeClient: false));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")]
    [InlineData("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", false, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\n\r\n", true, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")]
    [InlineData("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", false, "HTTP/1.1 100 Continue\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n", false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n")]
    public void WriteClientHead_WritesTheHeadForTheClient(string text, bool closeClient, string expected) =>
        Assert.Equal(expected, WriteClientHead(text, closeClient));

    [Fact]
    public void WriteClientHead_IntoTooSmallADestination_ReturnsMinusOne()
    {
        var buffer = Bytes("HTTP/1.1 200 OK\r\nConnection: X-A\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok");
        const string expected = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n";
        Assert.Equal(ResponseHeadStatus.Complete, UpstreamResponseHead.TryRead(buffer, false, out var head));

        for (var size = 0; size < expected.Length; size++)
        {
            Assert.Equal(-1, head.WriteClientHead(buffer, new byte[size], closeClient: true));
        }

        var destination = new byte[expected.Length];
        Assert.Equal(expected.Length, head.WriteClientHead(buffer, destination, closeClient: true));
        Assert.Equal(expected, Encoding.Latin1.GetString(destination));
    }

    [Fact]
    public void WriteClientHead_OfAHeadNotRead_Throws() =>
        Assert.Throws<InvalidOperationException>(() => default(UpstreamResponseHead).WriteClientHead(Bytes("HTTP/1.1 200 OK\r\n\r\n"), new byte[64], false));

    [Fact]
    public void ReadingAndWritingAHead_AllocatesNothing()
    {
        var valid = Bytes("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Type: text/plain\r\n\r\n5\r\n");
        var invalid = Bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
        var destination = new byte[valid.Length + 32];
        var written = 0;

        void Run()
        {
            UpstreamResponseHead.TryRead(valid, false, out var head);
            written += head.WriteClientHead(valid, destination, closeClient: true);
            UpstreamResponseHead.TryRead(invalid, false, out _);
        }

        Run();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Run();
        }

        Assert.Equal(0L, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(written > 0);
    }
}
