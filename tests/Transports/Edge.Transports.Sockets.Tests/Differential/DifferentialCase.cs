using System.Text;
using Edge.Testing;

namespace Edge.Transports.Sockets.Tests.Differential;

/// <summary>The configuration an edge of a case is started with (see <see cref="EdgeProfiles"/>).</summary>
public enum EdgeProfile
{
    /// <summary>Anonymous, CORS, JWT, route-parameter and hello streams; no AllowedHosts; nothing stateful.</summary>
    Plain,

    /// <summary><see cref="Plain"/> with <c>AllowedHosts</c> = <c>localhost;127.0.0.1</c>.</summary>
    AllowedHosts,

    /// <summary><c>Edge:ForwardedHeaders</c> on (XFF and XFP from 127.0.0.1, one hop), AllowedHosts set, one stream per client IP.</summary>
    Forwarded,

    /// <summary><c>Edge:ForwardedHeaders</c> on, and a per-IP Concurrency rate limit of one on <c>/events</c>.</summary>
    ForwardedRateLimit,

    /// <summary>
    /// ASP.NET Core's own switch <c>FORWARDEDHEADERS_ENABLED</c> (<c>ASPNETCORE_FORWARDEDHEADERS_ENABLED</c>),
    /// which trusts X-Forwarded-For and -Proto from any proxy, and one stream per client IP.
    /// </summary>
    HostForwarded,

    /// <summary><c>Edge:Limits:MaxConnectionsPerIp</c> = 1.</summary>
    IpLimit,

    /// <summary>A per-IP Concurrency rate-limit policy of one on <c>/events</c>.</summary>
    RateLimit,

    /// <summary><c>Edge:Streams:events:Limits:MaxConnectionsPerUser</c> = 1.</summary>
    UserStreamLimit,

    /// <summary><c>Edge:Limits:MaxConnections</c> = 1.</summary>
    Capacity,
}

/// <summary>The bytes of one request variant: sent in <see cref="Pieces"/> with <see cref="Pause"/> between them.</summary>
internal sealed class RequestSpec
{
    /// <summary>The method of the compared request (a response to HEAD has no body).</summary>
    public string Method { get; init; } = "GET";

    public required IReadOnlyList<byte[]> Pieces { get; init; }

    public TimeSpan Pause { get; init; }

    /// <summary>Complete (non-stream) responses that come before the compared one, e.g. a pipelined health check.</summary>
    public int LeadingResponses { get; init; }

    public static RequestSpec Of(string text, string method = "GET") => new() { Method = method, Pieces = [Encoding.Latin1.GetBytes(text)] };

    public static RequestSpec Of(byte[] bytes, string method = "GET") => new() { Method = method, Pieces = [bytes] };

    /// <summary>The text cut at <paramref name="cuts"/> (character offsets), each piece its own TCP write.</summary>
    public static RequestSpec Split(string text, TimeSpan pause, params int[] cuts)
    {
        var pieces = new List<byte[]>();
        var from = 0;
        foreach (var cut in cuts.Append(text.Length))
        {
            pieces.Add(Encoding.Latin1.GetBytes(text[from..cut]));
            from = cut;
        }

        return new RequestSpec { Pieces = pieces, Pause = pause };
    }

    public override string ToString() => string.Concat(Pieces.Select(p => Encoding.Latin1.GetString(p)));
}

/// <summary>One request variant of the catalogue; its <see cref="Name"/> is the theory row.</summary>
internal sealed record DifferentialCase
{
    public required string Name { get; init; }

    public EdgeProfile Profile { get; init; } = EdgeProfile.Plain;

    /// <summary>
    /// Attempts run one after the other, the first one's stream closed and its lease and permit
    /// released before the second, so both see the same limiter state (limits, rate limits).
    /// Otherwise both attempts are open at once and see the same events.
    /// </summary>
    public bool Sequential { get; init; }

    /// <summary>The first-request attempt must be served by the direct path (not by Kestrel).</summary>
    public bool Direct { get; init; }

    /// <summary>What the Kestrel path must answer, so the case tests what its name says; null: whatever it answers.</summary>
    public int? KestrelStatus { get; init; }

    /// <summary>Runs before the attempts: holders of limits, history and cursors, tokens.</summary>
    public Func<CaseContext, Task>? Arrange { get; init; }

    public required Func<CaseContext, RequestSpec> Request { get; init; }

    /// <summary>Stateful profiles get an edge of their own per case.</summary>
    public bool FreshEdge => Profile is not (EdgeProfile.Plain or EdgeProfile.AllowedHosts);

    public override string ToString() => Name;
}

/// <summary>What a case runs against, and what its arrangement left for its request.</summary>
internal sealed class CaseContext : IDisposable
{
    private readonly List<RawHttpConnection> _holders = [];

    public CaseContext(EdgeTestHost edge, CancellationToken cancellationToken)
    {
        Edge = edge;
        CancellationToken = cancellationToken;
    }

    public EdgeTestHost Edge { get; }

    public CancellationToken CancellationToken { get; }

    public int Port => Edge.BaseAddress.Port;

    /// <summary><c>127.0.0.1:{port}</c>, a Host every profile allows.</summary>
    public string Authority => Edge.BaseAddress.Authority;

    public Dictionary<string, string> Values { get; } = new(StringComparer.Ordinal);

    public string this[string key] => Values[key];

    /// <summary>Opens a stream that stays open until the case ends, and reads it up to its first frame.</summary>
    /// <param name="viaKestrel">Send it as the second request of a connection (after a health check), so Kestrel serves it.</param>
    public async Task<RawResponseHead> HoldAsync(string request, bool viaKestrel = false)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken);
        timeout.CancelAfter(DifferentialRunner.AnswerTimeout);
        var connection = await RawHttpConnection.ConnectAsync(Port, timeout.Token);
        _holders.Add(connection);
        if (viaKestrel)
        {
            await DifferentialRunner.HealthCheckAsync(connection, Authority, timeout.Token);
        }

        await connection.SendAsync(Encoding.Latin1.GetBytes(request), timeout.Token);
        var head = await connection.ReadHeadAsync("GET", timeout.Token);
        if (head.Status != 200 || !head.IsEventStream)
        {
            throw new InvalidOperationException($"The holder stream was not admitted: {head}");
        }

        await connection.ReadBodyAsync(timeout.Token);
        return head;
    }

    public void Dispose()
    {
        foreach (var holder in _holders)
        {
            holder.Dispose();
        }
    }
}
