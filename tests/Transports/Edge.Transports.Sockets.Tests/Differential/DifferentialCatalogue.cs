using Edge.Testing;
using System.Text;
using static Edge.Transports.Sockets.Tests.Differential.RequestSpec;

namespace Edge.Transports.Sockets.Tests.Differential;

/// <summary>
/// The request variants of the differential suite. Each is sent as the first request of a fresh
/// connection (the direct path's to serve, or to hand to Kestrel) and as the second request of
/// a connection whose first was a health check (Kestrel's), and the two answers must agree.
/// <see cref="DifferentialCase.Direct"/> marks the variants the direct path is meant to serve
/// itself; it is checked, so those cases never compare Kestrel with Kestrel.
/// </summary>
internal static class DifferentialCatalogue
{
    private const string StreamHeaders = "Accept: text/event-stream\r\nCache-Control: no-cache\r\n";

    /// <summary>Client addresses from the documentation ranges (RFC 5737, RFC 3849).</summary>
    private const string ClientA = "203.0.113.7";
    private const string ClientB = "198.51.100.1";

    public static IReadOnlyDictionary<string, DifferentialCase> Cases { get; } = Build().ToDictionary(c => c.Name, StringComparer.Ordinal);

    /// <summary>A GET with the usual Host (<c>127.0.0.1:port</c>) and SSE headers, plus <paramref name="headers"/> (each ending in CRLF).</summary>
    private static string Get(CaseContext c, string target, string headers = "") =>
        $"GET {target} HTTP/1.1\r\nHost: {c.Authority}\r\n{StreamHeaders}{headers}\r\n";

    /// <summary>A GET with exactly the given header block (each line ending in CRLF), no Host added.</summary>
    private static string Raw(string requestLine, string headerBlock) => $"{requestLine}\r\n{headerBlock}\r\n";

    private static DifferentialCase Stream(string name, Func<CaseContext, string> request, bool direct = true, EdgeProfile profile = EdgeProfile.Plain, int? kestrelStatus = null, Func<CaseContext, Task>? arrange = null) =>
        new() { Name = name, Profile = profile, Direct = direct, KestrelStatus = kestrelStatus, Arrange = arrange, Request = c => Of(request(c)) };

    private static IEnumerable<DifferentialCase> Build()
    {
        // ---- Host forms, AllowedHosts unset -------------------------------------------------
        yield return Stream("host: name and port", c => Raw("GET /events HTTP/1.1", $"Host: localhost:{c.Port}\r\n{StreamHeaders}"), kestrelStatus: 200);
        yield return Stream("host: IPv4 and port", c => Get(c, "/events"), kestrelStatus: 200);
        yield return Stream("host: name without port", _ => Raw("GET /events HTTP/1.1", $"Host: localhost\r\n{StreamHeaders}"), kestrelStatus: 200);
        yield return Stream("host: IPv6 literal and port", c => Raw("GET /events HTTP/1.1", $"Host: [::1]:{c.Port}\r\n{StreamHeaders}"), direct: false);
        yield return Stream("host: uppercase name", c => Raw("GET /events HTTP/1.1", $"Host: LOCALHOST:{c.Port}\r\n{StreamHeaders}"), direct: false);
        yield return Stream("host: trailing dot", c => Raw("GET /events HTTP/1.1", $"Host: localhost.:{c.Port}\r\n{StreamHeaders}"), direct: false);
        yield return Stream("host: missing", _ => Raw("GET /events HTTP/1.1", StreamHeaders), direct: false, kestrelStatus: 400);
        yield return Stream("host: twice, same value", c => Raw("GET /events HTTP/1.1", $"Host: {c.Authority}\r\nHost: {c.Authority}\r\n{StreamHeaders}"), direct: false, kestrelStatus: 400);
        yield return Stream("host: twice, different values", c => Raw("GET /events HTTP/1.1", $"Host: {c.Authority}\r\nHost: evil.example\r\n{StreamHeaders}"), direct: false, kestrelStatus: 400);
        yield return Stream("host: invalid a:b:c", _ => Raw("GET /events HTTP/1.1", $"Host: a:b:c\r\n{StreamHeaders}"), direct: false, kestrelStatus: 400);
        yield return Stream("host: invalid a b/c", _ => Raw("GET /events HTTP/1.1", $"Host: a b/c\r\n{StreamHeaders}"), direct: false, kestrelStatus: 400);
        yield return Stream("host: empty", _ => Raw("GET /events HTTP/1.1", $"Host:\r\n{StreamHeaders}"), direct: false);
        yield return Stream("host: with userinfo", c => Raw("GET /events HTTP/1.1", $"Host: user@localhost:{c.Port}\r\n{StreamHeaders}"), direct: false, kestrelStatus: 400);
        yield return Stream("host: non-numeric port", _ => Raw("GET /events HTTP/1.1", $"Host: localhost:http\r\n{StreamHeaders}"), direct: false, kestrelStatus: 400);
        yield return Stream("host: surrounded by spaces and tabs", c => Raw("GET /events HTTP/1.1", $"Host: \t {c.Authority} \t\r\n{StreamHeaders}"), direct: false);
        yield return Stream("host: unknown name, no AllowedHosts", _ => Raw("GET /events HTTP/1.1", $"Host: evil.example\r\n{StreamHeaders}"), direct: false, kestrelStatus: 200);

        // ---- Host forms, AllowedHosts = localhost;127.0.0.1 ---------------------------------
        const EdgeProfile allowed = EdgeProfile.AllowedHosts;
        yield return Stream("allowed hosts: localhost:port", c => Raw("GET /events HTTP/1.1", $"Host: localhost:{c.Port}\r\n{StreamHeaders}"), profile: allowed, kestrelStatus: 200);
        yield return Stream("allowed hosts: 127.0.0.1:port", c => Get(c, "/events"), profile: allowed, kestrelStatus: 200);
        yield return Stream("allowed hosts: unknown name refused", _ => Raw("GET /events HTTP/1.1", $"Host: evil.example\r\n{StreamHeaders}"), direct: false, profile: allowed, kestrelStatus: 400);
        yield return Stream("allowed hosts: unknown name with port refused", c => Raw("GET /events HTTP/1.1", $"Host: evil.example:{c.Port}\r\n{StreamHeaders}"), direct: false, profile: allowed, kestrelStatus: 400);
        yield return Stream("allowed hosts: IPv6 loopback not listed", c => Raw("GET /events HTTP/1.1", $"Host: [::1]:{c.Port}\r\n{StreamHeaders}"), direct: false, profile: allowed, kestrelStatus: 400);
        yield return Stream("allowed hosts: uppercase name", c => Raw("GET /events HTTP/1.1", $"Host: LocalHost:{c.Port}\r\n{StreamHeaders}"), direct: false, profile: allowed);
        yield return Stream("allowed hosts: trailing dot", c => Raw("GET /events HTTP/1.1", $"Host: localhost.:{c.Port}\r\n{StreamHeaders}"), direct: false, profile: allowed);
        yield return Stream("allowed hosts: subdomain of an allowed name", c => Raw("GET /events HTTP/1.1", $"Host: sub.localhost:{c.Port}\r\n{StreamHeaders}"), direct: false, profile: allowed, kestrelStatus: 400);
        yield return Stream("allowed hosts: empty Host", _ => Raw("GET /events HTTP/1.1", $"Host:\r\n{StreamHeaders}"), direct: false, profile: allowed);
        yield return Stream("allowed hosts: X-Forwarded-Host ignored without forwarded headers", c => Get(c, "/events", "X-Forwarded-Host: evil.example\r\n"), profile: allowed, kestrelStatus: 200);
        yield return Stream("allowed hosts: refused with an Origin", _ => Raw("GET /cors/events HTTP/1.1", $"Host: evil.example\r\nOrigin: {EdgeProfiles.AllowedOrigin}\r\n{StreamHeaders}"), direct: false, profile: allowed, kestrelStatus: 400);

        // ---- Forwarded headers (Edge:ForwardedHeaders), one stream per client IP ------------
        foreach (var @case in ForwardedCases())
        {
            yield return @case;
        }

        // ---- Line endings and heads split over several TCP writes ---------------------------
        yield return Stream("line endings: LF only", c => $"GET /events HTTP/1.1\nHost: {c.Authority}\nAccept: text/event-stream\n\n", direct: false, kestrelStatus: 200);
        yield return Stream("line endings: LF-only header lines", c => $"GET /events HTTP/1.1\r\nHost: {c.Authority}\nAccept: text/event-stream\n\n", direct: false, kestrelStatus: 200);
        yield return Stream("line endings: LF-only final blank line", c => $"GET /events HTTP/1.1\r\nHost: {c.Authority}\r\nAccept: text/event-stream\r\n\n", direct: false, kestrelStatus: 200);
        yield return Stream("line endings: bare CR inside a header line", c => $"GET /events HTTP/1.1\r\nHost: {c.Authority}\r\nX-Odd: a\rb\r\n\r\n", direct: false, kestrelStatus: 400);
        yield return new DifferentialCase { Name = "split head: three writes 10 ms apart", Request = c => Split(Get(c, "/events"), TimeSpan.FromMilliseconds(10), 10, 30) };
        yield return new DifferentialCase { Name = "split head: one write per line, 40 ms apart", Request = c => SplitLines(Get(c, "/events?channels=split"), TimeSpan.FromMilliseconds(40)) };
        yield return new DifferentialCase { Name = "split head: two writes 400 ms apart", Request = c => Split(Get(c, "/events"), TimeSpan.FromMilliseconds(400), 25) };
        yield return new DifferentialCase { Name = "split head: between the CR and LF of the blank line", Request = c => { var t = Get(c, "/events"); return Split(t, TimeSpan.FromMilliseconds(100), t.Length - 1); } };
        yield return new DifferentialCase { Name = "split head: first 12 bytes one at a time", Request = c => Split(Get(c, "/events"), TimeSpan.FromMilliseconds(3), Enumerable.Range(1, 12).ToArray()) };

        // ---- Query encodings ----------------------------------------------------------------
        yield return Stream("query: percent-escaped comma", c => Get(c, "/events?channels=a%2Cb"));
        yield return Stream("query: plus for space", c => Get(c, "/events?channels=a+b"));
        yield return Stream("query: repeated parameter", c => Get(c, "/events?channels=a&channels=b,c"));
        yield return Stream("query: empty channels", c => Get(c, "/events?channels="));
        yield return Stream("query: only commas and spaces", c => Get(c, "/events?channels=,%20,,"));
        yield return Stream("query: parameter without value", c => Get(c, "/events?channels"));
        yield return Stream("query: empty pairs and an empty key", c => Get(c, "/events?&&=x&channels=q&"));
        yield return Stream("query: unicode, percent-escaped", c => Get(c, "/events?channels=%C3%A9t%C3%A9,%E2%82%AC"));
        yield return Stream("query: escaped control character", c => Get(c, "/events?channels=a%0Db"), kestrelStatus: 400);
        yield return Stream("query: escaped ampersand and equals", c => Get(c, "/events?channels=a%26b%3Dc"));
        yield return Stream("query: malformed escape", c => Get(c, "/events?channels=a%zzb%"), direct: false);
        yield return Stream("query: wildcard channel refused", c => Get(c, "/events?channels=orders.*"), kestrelStatus: 400);
        yield return Stream("query: too many channels refused", c => Get(c, "/events?channels=" + string.Join(',', Enumerable.Range(0, 33).Select(i => "c" + i))), kestrelStatus: 400);
        yield return Stream("query: raw UTF-8 bytes in the target", c => Get(c, "/events?channels=\u00c3\u00a9t\u00c3\u00a9"), direct: false);
        yield return Stream("query: fragment in the target", c => Get(c, "/events?channels=a#frag"), direct: false);

        // ---- Paths ---------------------------------------------------------------------------
        yield return Stream("path: route parameter", c => Get(c, "/rooms/lobby/events"), kestrelStatus: 200);
        yield return Stream("path: escaped route parameter", c => Get(c, "/rooms/lob%20by/events"), direct: false, kestrelStatus: 200);
        yield return Stream("path: trailing slash", c => Get(c, "/events/"), direct: false);
        yield return Stream("path: uppercase", c => Get(c, "/EVENTS"), direct: false);
        yield return Stream("path: dot segments", c => Get(c, "/x/../events"), direct: false);
        yield return Stream("path: double slash", c => Get(c, "//events"), direct: false);
        yield return Stream("path: escaped letter", c => Get(c, "/ev%65nts"), direct: false);
        yield return Stream("path: unknown", c => Get(c, "/no-such-stream"), direct: false, kestrelStatus: 404);
        yield return Stream("path: absolute-form target", c => Get(c, $"http://{c.Authority}/events"), direct: false);

        // ---- Cursors in the Last-Event-ID header and the lastEventId query --------------------
        yield return Stream("cursor: valid in the header", c => Get(c, "/events?channels=cur", $"Last-Event-ID: {c["cursor0"]}\r\n"), arrange: CursorsAsync);
        yield return Stream("cursor: valid in the query", c => Get(c, $"/events?channels=cur&lastEventId={c["cursor0"]}"), arrange: CursorsAsync);
        yield return Stream("cursor: header and query, the header wins", c => Get(c, $"/events?channels=cur&lastEventId={c["cursor0"]}", $"Last-Event-ID: {c["cursor1"]}\r\n"), arrange: CursorsAsync);
        yield return Stream("cursor: empty header, the query is used", c => Get(c, $"/events?channels=cur&lastEventId={c["cursor1"]}", "Last-Event-ID:\r\n"), arrange: CursorsAsync);
        yield return Stream("cursor: malformed", c => Get(c, "/events?channels=cur", "Last-Event-ID: not a cursor!\r\n"));
        yield return Stream("cursor: foreign epoch", c => Get(c, "/events?channels=cur", "Last-Event-ID: zz9other-3\r\n"));
        yield return Stream("cursor: percent-escaped in the query", c => Get(c, $"/events?channels=cur&lastEventId={c["cursor0"].Replace("-", "%2D", StringComparison.Ordinal)}"), arrange: CursorsAsync);
        yield return Stream("cursor: two headers", c => Get(c, "/events?channels=cur", $"Last-Event-ID: {c["cursor1"]}\r\nLast-Event-ID: {c["cursor0"]}\r\n"), arrange: CursorsAsync);

        // ---- CORS origins and preflights --------------------------------------------------
        yield return Stream("cors: allowed origin", c => Get(c, "/cors/events", $"Origin: {EdgeProfiles.AllowedOrigin}\r\n"), kestrelStatus: 200);
        yield return Stream("cors: denied origin", c => Get(c, "/cors/events", "Origin: https://evil.example\r\n"), kestrelStatus: 200);
        yield return Stream("cors: origin null", c => Get(c, "/cors/events", "Origin: null\r\n"));
        yield return Stream("cors: origin with a different case", c => Get(c, "/cors/events", "Origin: HTTPS://APP.EXAMPLE.COM\r\n"));
        yield return Stream("cors: origin on a stream without a policy", c => Get(c, "/events", $"Origin: {EdgeProfiles.AllowedOrigin}\r\n"));
        yield return Preflight("cors: preflight from the allowed origin", EdgeProfiles.AllowedOrigin, "GET", "last-event-id,cache-control", 204);
        yield return Preflight("cors: preflight from a denied origin", "https://evil.example", "GET", "last-event-id", null);
        yield return Preflight("cors: preflight for a method not allowed", EdgeProfiles.AllowedOrigin, "DELETE", null, null);
        yield return Preflight("cors: preflight for a header not allowed", EdgeProfiles.AllowedOrigin, "GET", "x-not-allowed", null);
        yield return Preflight("cors: preflight asking for Authorization and X-Session-Id", EdgeProfiles.AllowedOrigin, "GET", "authorization, x-session-id", 204);
        yield return new DifferentialCase { Name = "cors: OPTIONS without Access-Control-Request-Method", Request = c => Of($"OPTIONS /cors/events HTTP/1.1\r\nHost: {c.Authority}\r\nOrigin: {EdgeProfiles.AllowedOrigin}\r\n\r\n", "OPTIONS") };
        yield return new DifferentialCase { Name = "cors: OPTIONS on a stream without a policy", KestrelStatus = 204, Request = c => Of($"OPTIONS /events HTTP/1.1\r\nHost: {c.Authority}\r\n\r\n", "OPTIONS") };

        // ---- Tokens for a Jwt stream: header, query, cookie ---------------------------------
        yield return Stream("auth: bearer header", c => Get(c, "/jwt/events", $"Authorization: Bearer {c["token"]}\r\n"), arrange: TokensAsync, kestrelStatus: 200);
        yield return Stream("auth: lowercase bearer scheme", c => Get(c, "/jwt/events", $"Authorization: bearer {c["token"]}\r\n"), arrange: TokensAsync);
        yield return Stream("auth: token in the query", c => Get(c, $"/jwt/events?token={c["token"]}"), arrange: TokensAsync, kestrelStatus: 200);
        yield return Stream("auth: token in the cookie", c => Get(c, "/jwt/events", $"Cookie: theme=dark; {EdgeProfiles.TokenCookie}={c["token"]}\r\n"), arrange: TokensAsync, kestrelStatus: 200);
        yield return Stream("auth: token in two Cookie lines", c => Get(c, "/jwt/events", $"Cookie: theme=dark\r\nCookie: {EdgeProfiles.TokenCookie}={c["token"]}\r\n"), arrange: TokensAsync);
        yield return Stream("auth: no token", c => Get(c, "/jwt/events"), kestrelStatus: 401);
        yield return Stream("auth: wrong signature", c => Get(c, "/jwt/events", $"Authorization: Bearer {c["forged"]}\r\n"), arrange: TokensAsync, kestrelStatus: 401);
        yield return Stream("auth: expired token", c => Get(c, $"/jwt/events?token={c["expired"]}"), arrange: TokensAsync, kestrelStatus: 401);
        yield return Stream("auth: unsigned token", c => Get(c, "/jwt/events", $"Cookie: {EdgeProfiles.TokenCookie}={c["unsigned"]}\r\n"), arrange: TokensAsync, kestrelStatus: 401);
        yield return Stream("auth: garbage bearer", c => Get(c, "/jwt/events", "Authorization: Bearer not.a.jwt\r\n"), kestrelStatus: 401);
        yield return Stream("auth: channel not granted", c => Get(c, "/jwt/events?channels=secret", $"Authorization: Bearer {c["narrow"]}\r\n"), arrange: TokensAsync, kestrelStatus: 403);
        yield return Stream("auth: user id of someone else", c => Get(c, $"/jwt/events?userId=bob&token={c["token"]}"), arrange: TokensAsync, kestrelStatus: 403);
        yield return Stream("auth: token in the header and a forged one in the query", c => Get(c, $"/jwt/events?token={c["forged"]}", $"Authorization: Bearer {c["token"]}\r\n"), arrange: TokensAsync);
        yield return Stream("auth: 10 KB cookie line beside the token", c => Get(c, "/jwt/events", $"Cookie: pad={new string('c', 10 * 1024)}; {EdgeProfiles.TokenCookie}={c["token"]}\r\n"), direct: false, arrange: TokensAsync);
        yield return Stream("auth: seed-style refusal as an event", c => Get(c, "/seed/events"), kestrelStatus: 200);

        // ---- Refusals of every kind ---------------------------------------------------------
        yield return Stream("refusal: user id too long", c => Get(c, "/events?userId=" + new string('u', 300)), kestrelStatus: 400);
        yield return Stream("refusal: session id with a control character", c => Get(c, "/events?sessionId=a%01b"), kestrelStatus: 400);
        yield return Stream("refusal: personal channel of someone else", c => Get(c, "/events?userId=alice&channels=user:bob"), kestrelStatus: 403);
        yield return Stream("refusal: connection limit per IP", c => Get(c, "/events"), profile: EdgeProfile.IpLimit, kestrelStatus: 429, arrange: c => c.HoldAsync(Get(c, "/events"))) with { Sequential = true };
        yield return Stream("refusal: rate limit per IP", c => Get(c, "/events"), profile: EdgeProfile.RateLimit, kestrelStatus: 429, arrange: c => c.HoldAsync(Get(c, "/events"))) with { Sequential = true };
        yield return Stream("refusal: connection limit per user on the stream", c => Get(c, "/events?userId=alice"), profile: EdgeProfile.UserStreamLimit, kestrelStatus: 429, arrange: c => c.HoldAsync(Get(c, "/events?userId=alice"))) with { Sequential = true };
        yield return Stream("refusal: edge at capacity", c => Get(c, "/events"), profile: EdgeProfile.Capacity, kestrelStatus: 503, arrange: c => c.HoldAsync(Get(c, "/events"))) with { Sequential = true };
        yield return Stream("admitted: under the per-IP limit", c => Get(c, "/events"), profile: EdgeProfile.IpLimit, kestrelStatus: 200) with { Sequential = true };

        // ---- Oversized heads ----------------------------------------------------------------
        yield return Stream("oversized: 20 KB header", c => Get(c, "/events", $"X-Pad: {new string('p', 20 * 1024)}\r\n"), direct: false, kestrelStatus: 200);
        yield return Stream("oversized: 40 KB of headers", c => Get(c, "/events", $"X-Pad: {new string('p', 40 * 1024)}\r\n"), direct: false, kestrelStatus: 431);
        yield return Stream("oversized: 70 header lines", c => Get(c, "/events", string.Concat(Enumerable.Range(0, 70).Select(i => $"X-H{i}: v\r\n"))), direct: false, kestrelStatus: 200);
        yield return Stream("oversized: 120 header lines", c => Get(c, "/events", string.Concat(Enumerable.Range(0, 120).Select(i => $"X-H{i}: v\r\n"))), direct: false, kestrelStatus: 431);
        yield return Stream("oversized: 7 KB target", c => Get(c, "/events?pad=" + new string('t', 7 * 1024)), direct: false, kestrelStatus: 200);
        yield return Stream("oversized: 9 KB target", c => Get(c, "/events?pad=" + new string('t', 9 * 1024)), direct: false, kestrelStatus: 414);

        // ---- Versions, methods, bodies, pipelining -------------------------------------------
        yield return Stream("http/1.0: without Host", _ => $"GET /events HTTP/1.0\r\n{StreamHeaders}\r\n", direct: false);
        yield return Stream("http/1.0: with Host and keep-alive", c => $"GET /events HTTP/1.0\r\nHost: {c.Authority}\r\nConnection: keep-alive\r\n{StreamHeaders}\r\n", direct: false);
        yield return new DifferentialCase { Name = "method: HEAD of a stream", KestrelStatus = 405, Request = c => Of($"HEAD /events HTTP/1.1\r\nHost: {c.Authority}\r\n{StreamHeaders}\r\n", "HEAD") };
        yield return new DifferentialCase { Name = "method: POST to a stream", KestrelStatus = 405, Request = c => Of($"POST /events HTTP/1.1\r\nHost: {c.Authority}\r\nContent-Length: 0\r\n\r\n", "POST") };
        yield return new DifferentialCase { Name = "method: POST with a body", KestrelStatus = 405, Request = c => Of($"POST /events HTTP/1.1\r\nHost: {c.Authority}\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", "POST") };
        yield return new DifferentialCase { Name = "method: lowercase get", Request = c => Of($"get /events HTTP/1.1\r\nHost: {c.Authority}\r\n\r\n") };
        yield return Stream("body: GET with Content-Length 0", c => Get(c, "/events", "Content-Length: 0\r\n"));
        yield return Stream("body: GET with a body", c => Get(c, "/events", "Content-Length: 3\r\n") + "abc", direct: false);
        yield return Stream("body: GET with chunked transfer coding", c => Get(c, "/events", "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n", direct: false);
        yield return Stream("header: Expect 100-continue", c => Get(c, "/events", "Expect: 100-continue\r\n"), direct: false);
        yield return Stream("header: Upgrade to websocket", c => Get(c, "/events", "Connection: Upgrade\r\nUpgrade: websocket\r\n"), direct: false);
        yield return Stream("header: Connection close", c => Get(c, "/events", "Connection: close\r\n"), direct: false);
        yield return Stream("header: Accept-Encoding gzip", c => Get(c, "/events", "Accept-Encoding: gzip, br\r\n"));
        yield return Stream("header: obsolete line folding", c => Get(c, "/events", "X-Folded: a\r\n b\r\n"), direct: false, kestrelStatus: 400);
        yield return Stream("header: space before the colon", c => Get(c, "/events", "X-Odd : v\r\n"), direct: false, kestrelStatus: 400);
        yield return Stream("hello: event and retry", c => Get(c, "/hello/events"), kestrelStatus: 200);
        yield return Stream("pipelining: stream then health in one write", c => Get(c, "/events") + $"GET /_edge/health HTTP/1.1\r\nHost: {c.Authority}\r\n\r\n", direct: false, kestrelStatus: 200);
        yield return new DifferentialCase
        {
            Name = "pipelining: health then stream in one write",
            KestrelStatus = 200,
            Request = c => new RequestSpec { Pieces = [Encoding.ASCII.GetBytes($"GET /_edge/health HTTP/1.1\r\nHost: {c.Authority}\r\n\r\n" + Get(c, "/events"))], LeadingResponses = 1 },
        };
    }

    private static IEnumerable<DifferentialCase> ForwardedCases()
    {
        const EdgeProfile forwarded = EdgeProfile.Forwarded;

        // The holder is counted as the socket's address (127.0.0.1) on both paths: it sends no X-Forwarded-For.
        static Task HoldFromSocketAsync(CaseContext c) => c.HoldAsync(Get(c, "/events"));

        // The holder is counted as client A on a path that applies forwarded headers (Kestrel's).
        static Task HoldAsClientAAsync(CaseContext c) => c.HoldAsync(Get(c, "/events", $"X-Forwarded-For: {ClientA}\r\n"), viaKestrel: true);

        DifferentialCase Case(string name, Func<CaseContext, string> request, int status, Func<CaseContext, Task> arrange, EdgeProfile profile = forwarded) =>
            new() { Name = name, Profile = profile, Sequential = true, KestrelStatus = status, Arrange = arrange, Request = c => Of(request(c)) };

        yield return Case("forwarded: another client behind the proxy is admitted", c => Get(c, "/events", $"X-Forwarded-For: {ClientA}\r\n"), 200, HoldFromSocketAsync);
        yield return Case("forwarded: no X-Forwarded-For counts the proxy", c => Get(c, "/events"), 429, HoldFromSocketAsync);
        yield return Case("forwarded: X-Forwarded-For naming the proxy itself", c => Get(c, "/events", "X-Forwarded-For: 127.0.0.1\r\n"), 429, HoldFromSocketAsync);
        yield return Case("forwarded: the same client again is refused", c => Get(c, "/events", $"X-Forwarded-For: {ClientA}\r\n"), 429, HoldAsClientAAsync);
        yield return Case("forwarded: two hops, the nearest is the client", c => Get(c, "/events", $"X-Forwarded-For: {ClientA}, {ClientB}\r\n"), 200, HoldAsClientAAsync);
        yield return Case("forwarded: two hops ending in a known client", c => Get(c, "/events", $"X-Forwarded-For: {ClientB}, {ClientA}\r\n"), 429, HoldAsClientAAsync);
        yield return Case("forwarded: with X-Forwarded-Proto https", c => Get(c, "/events", $"X-Forwarded-For: {ClientA}\r\nX-Forwarded-Proto: https\r\n"), 200, HoldFromSocketAsync);
        yield return Case("forwarded: IPv6 client", c => Get(c, "/events", "X-Forwarded-For: [2001:db8::1]\r\n"), 200, HoldFromSocketAsync);
        yield return Case("forwarded: RFC 7239 Forwarded is not read", c => Get(c, "/events", $"Forwarded: for={ClientA};proto=https\r\n"), 429, HoldFromSocketAsync);
        yield return Case("forwarded: unparsable X-Forwarded-For", c => Get(c, "/events", "X-Forwarded-For: not-an-address\r\n"), 429, HoldFromSocketAsync);
        yield return Case("forwarded: X-Forwarded-Host not trusted, Host allowed", c => Get(c, "/events", $"X-Forwarded-For: {ClientA}\r\nX-Forwarded-Host: evil.example\r\n"), 200, HoldFromSocketAsync);
        yield return Case("forwarded: Host not allowed, client forwarded", _ => Raw("GET /events HTTP/1.1", $"Host: evil.example\r\nX-Forwarded-For: {ClientA}\r\n{StreamHeaders}"), 400, HoldFromSocketAsync);
        yield return Case("forwarded, host switch: another client behind the proxy is admitted", c => Get(c, "/events", $"X-Forwarded-For: {ClientA}\r\n"), 200, HoldFromSocketAsync, EdgeProfile.HostForwarded);
        yield return Case("forwarded, host switch: the same client again is refused", c => Get(c, "/events", $"X-Forwarded-For: {ClientA}\r\n"), 429, HoldAsClientAAsync, EdgeProfile.HostForwarded);
        yield return Case("forwarded, host switch: no X-Forwarded-For counts the proxy", c => Get(c, "/events"), 429, HoldFromSocketAsync, EdgeProfile.HostForwarded);
        yield return Case("forwarded: rate limit counts the forwarded client", c => Get(c, "/events", $"X-Forwarded-For: {ClientA}\r\n"), 200, HoldFromSocketAsync, EdgeProfile.ForwardedRateLimit);
        yield return Case("forwarded: rate limit counts the proxy without the header", c => Get(c, "/events"), 429, HoldFromSocketAsync, EdgeProfile.ForwardedRateLimit);
        yield return Case("forwarded: rate limit refuses the same forwarded client", c => Get(c, "/events", $"X-Forwarded-For: {ClientA}\r\n"), 429, HoldAsClientAAsync, EdgeProfile.ForwardedRateLimit);
    }

    private static DifferentialCase Preflight(string name, string origin, string method, string? headers, int? status) => new()
    {
        Name = name,
        KestrelStatus = status,
        Request = c => Of(
            $"OPTIONS /cors/events HTTP/1.1\r\nHost: {c.Authority}\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: {method}\r\n"
            + (headers is null ? string.Empty : $"Access-Control-Request-Headers: {headers}\r\n") + "\r\n",
            "OPTIONS"),
    };

    private static RequestSpec SplitLines(string text, TimeSpan pause)
    {
        var cuts = new List<int>();
        for (var i = text.IndexOf('\n', StringComparison.Ordinal); i >= 0 && i < text.Length - 1; i = text.IndexOf('\n', i + 1))
        {
            cuts.Add(i + 1);
        }

        return Split(text, pause, [.. cuts]);
    }

    private static Task TokensAsync(CaseContext c)
    {
        c.Values["token"] = TestTokens.Create(sub: "alice");
        c.Values["forged"] = TestTokens.Create(sub: "alice", key: TestTokens.SecretKey("another-secret-that-is-long-enough-for-hs256"));
        c.Values["expired"] = TestTokens.Create(sub: "alice", expiresIn: TimeSpan.FromMinutes(-5));
        c.Values["unsigned"] = TestTokens.Unsigned();
        c.Values["narrow"] = TestTokens.Create(sub: "alice", channels: new[] { "other" });
        return Task.CompletedTask;
    }

    /// <summary>
    /// Takes the cursor of channel <c>cur</c> now (<c>cursor0</c>), publishes two events on it and
    /// keeps the cursor after the first (<c>cursor1</c>): resuming from <c>cursor0</c> replays both,
    /// from <c>cursor1</c> the second.
    /// </summary>
    private static async Task CursorsAsync(CaseContext c)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(c.CancellationToken);
        timeout.CancelAfter(DifferentialRunner.AnswerTimeout);
        using var connection = await RawHttpConnection.ConnectAsync(c.Port, timeout.Token);
        await connection.SendAsync(Encoding.ASCII.GetBytes(Get(c, "/events?channels=cur")), timeout.Token);
        var head = await connection.ReadHeadAsync("GET", timeout.Token);
        if (head.Status != 200)
        {
            throw new InvalidOperationException($"The cursor stream was refused: {head}");
        }

        var reader = new SseFrameReader();
        string? IdOf(Func<string, bool> frame) => reader.Frames.Where(frame).Select(f => f.Split('\n').FirstOrDefault(l => l.StartsWith("id: ", StringComparison.Ordinal))?[4..]).LastOrDefault(id => id is not null);
        async Task ReadUntilAsync(Func<bool> done)
        {
            while (!done())
            {
                reader.Feed((await connection.ReadBodyAsync(timeout.Token) ?? throw new IOException("The cursor stream ended.")).Span);
            }
        }

        await ReadUntilAsync(() => IdOf(f => !f.Contains("data:", StringComparison.Ordinal)) is not null);
        c.Values["cursor0"] = IdOf(f => !f.Contains("data:", StringComparison.Ordinal))!;
        using (var published = await c.Edge.PublishAsync("""[{"channel":"cur","data":"replayed-1"},{"channel":"cur","data":"replayed-2"}]""", cancellationToken: timeout.Token))
        {
            if (published.StatusCode != System.Net.HttpStatusCode.Accepted)
            {
                throw new InvalidOperationException($"Publishing the replay history answered {(int)published.StatusCode}.");
            }
        }

        await ReadUntilAsync(() => reader.HasData("replayed-2"));
        c.Values["cursor1"] = IdOf(f => f.Contains("data: replayed-1", StringComparison.Ordinal))!;
    }
}
