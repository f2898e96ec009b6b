using System.Buffers;
using System.Text;
using Edge.Configuration;
using Edge.Streams;
using Edge.Transports.Sockets;
using Microsoft.AspNetCore.Routing;
using Xunit;

namespace Edge.Transports.Sockets.Tests.Heads;

public sealed class RequestHeadTests
{
    private static readonly StreamRoute Events = new(new StreamDefinition("events", new StreamOptions { Path = "/events" }), new RouteValueDictionary());

    private static HeadReadResult Read(string text, out RequestHead? head, out int length) =>
        RequestHead.Read(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(text)), path => path == "/events" ? Events : null, out head, out length);

    private static HeadReadResult Read(string text) => Read(text, out _, out _);

    [Fact]
    public void APlainStreamGet_IsReadWithItsHeadersQueryAndLength()
    {
        const string text = "GET /events?channels=a,b&lastEventId=x-1 HTTP/1.1\r\nHost: edge\r\nLast-Event-ID: e-5\r\nauthorization:  Bearer t \r\nX-Custom: one\r\nX-Custom: two\r\n\r\n";
        Assert.Equal(HeadReadResult.Stream, Read(text, out var head, out var length));
        Assert.Equal(text.Length, length);
        Assert.Equal("/events", head!.Path);
        Assert.Equal("?channels=a,b&lastEventId=x-1", head.QueryString);
        Assert.Equal("/events?channels=a,b&lastEventId=x-1", head.RawTarget);
        Assert.Equal("e-5", head.Headers["last-event-id"].ToString());
        Assert.Equal("Bearer t", head.Headers["Authorization"].ToString());
        Assert.Equal(new[] { "one", "two" }, head.Headers["X-Custom"].ToArray().Cast<string>());
    }

    [Theory]
    [InlineData("G")]
    [InlineData("GET /eve")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e")]
    [InlineData("GET /events HTTP/1.1\r\nHost: edge\r\n")]
    public void AnUnfinishedStreamHead_NeedsMoreBytes(string text) => Assert.Equal(HeadReadResult.Incomplete, Read(text));

    [Theory]
    [InlineData("POST /events HTTP/1.1\r\nHost: e\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    [InlineData("\u0016\u0003\u0001\u0002\u0000")]
    [InlineData("GET /other HTTP/1.1\r\n")]
    [InlineData("GET /events HTTP/1.0\r\nHost: e\r\n\r\n")]
    [InlineData("GET http://edge/events HTTP/1.1\r\nHost: e\r\n\r\n")]
    [InlineData("GET /ev%65nts HTTP/1.1\r\nHost: e\r\n\r\n")]
    [InlineData("GET /events?x=%zz HTTP/1.1\r\nHost: e\r\n\r\n")]
    [InlineData("GET /events?x=% HTTP/1.1\r\nHost: e\r\n\r\n")]
    [InlineData("GET /events?x=<b> HTTP/1.1\r\nHost: e\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\nHost: e\n\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\n\r\n")]
    [InlineData("GET /events HTTP/1.1\nHost: e")]
    [InlineData("GET /events HTTP/1.1\rHost: e\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: a:b:c\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: a b/c\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: \r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e:\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e:123456\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: user@e\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: [::1\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: [zz::1]\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: :80\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nAccept: */*\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\r\nContent-Length: 5\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\r\nUpgrade: websocket\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\r\nExpect: 100-continue\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\r\nX-Bad: a\u0000b\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\r\nX-Latin: caf\u00e9\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\r\n folded\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\r\nBad Name: x\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: e\r\n\r\nGET /_edge/health HTTP/1.1\r\nHost: e\r\n\r\n")]
    public void AnythingButAPlainStreamGet_IsLeftToKestrel(string text) => Assert.Equal(HeadReadResult.NotDirect, Read(text));

    [Theory]
    [InlineData("GET /events?channels=orders%2Calerts&x=%0D%0A HTTP/1.1\r\nHost: e\r\n\r\n")]
    [InlineData("GET /events?a=1&a=2&b=&c=x+y HTTP/1.1\r\nHost: e\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: edge.example.com.:8080\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: [::1]\r\n\r\n")]
    [InlineData("GET /events HTTP/1.1\r\nHost: EDGE\r\n\r\n")]
    public void AStreamGetWithEscapedQueryOrAnyPlainHost_IsRead(string text) => Assert.Equal(HeadReadResult.Stream, Read(text));

    [Fact]
    public void ALineBreakCutBetweenCrAndLf_NeedsMoreBytes() => Assert.Equal(HeadReadResult.Incomplete, Read("GET /events HTTP/1.1\r\nHost: e\r"));

    [Fact]
    public void AHeadOverKestrelsLimits_IsLeftToKestrel()
    {
        var limits = new HeadLimits(MaxHeadBytes: 100, MaxRequestLineBytes: 30, MaxHeaders: 2);
        static HeadReadResult ReadWith(string text, HeadLimits limits) =>
            RequestHead.Read(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(text)), path => path == "/events" ? Events : null, out _, out _, limits);

        Assert.Equal(HeadReadResult.Stream, ReadWith("GET /events HTTP/1.1\r\nHost: e\r\nA: 1\r\n\r\n", limits));
        Assert.Equal(HeadReadResult.NotDirect, ReadWith("GET /events?abcdefghijk HTTP/1.1\r\nHost: e\r\n\r\n", limits));
        Assert.Equal(HeadReadResult.NotDirect, ReadWith("GET /events HTTP/1.1\r\nHost: e\r\nA: 1\r\nB: 2\r\n\r\n", limits));
        Assert.Equal(HeadReadResult.NotDirect, ReadWith("GET /events HTTP/1.1\r\nHost: e\r\nA: " + new string('a', 80) + "\r\n\r\n", limits));
    }

    [Fact]
    public void AnOversizedHead_IsLeftToKestrel()
    {
        var big = "GET /events HTTP/1.1\r\nHost: e\r\nCookie: " + new string('c', RequestHead.MaxHeadBytes) + "\r\n\r\n";
        Assert.Equal(HeadReadResult.NotDirect, Read(big));
        Assert.Equal(HeadReadResult.NotDirect, Read(big[..(RequestHead.MaxHeadBytes + 10)]));
    }
}
