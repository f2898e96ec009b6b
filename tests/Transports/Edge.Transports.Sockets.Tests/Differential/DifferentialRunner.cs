using System.Net;
using System.Text;
using Edge.Diagnostics;
using Edge.Limits;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Edge.Transports.Sockets.Tests.Differential;

/// <summary>
/// Sends a case's request once as the first request of a fresh connection (the direct path's
/// to serve) and once as the second request of a connection whose first was a health check
/// (always Kestrel's), and lists every difference a client could see between the two answers.
/// </summary>
internal static class DifferentialRunner
{
    /// <summary>Longest wait for any one answer; a case that hangs fails after this.</summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Sequential attempts: a stream that sends nothing for this long has sent its opening frames.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private const string Marker = "differential-end";

    /// <summary>What is published while a case's streams are open: a named event, a JSON value, and the end marker.</summary>
    private static readonly string EventsJson =
        "[{\"channel\":\"" + EdgeProfiles.NewsChannel + "\",\"event\":\"first\",\"data\":\"one\"},"
        + "{\"channel\":\"" + EdgeProfiles.NewsChannel + "\",\"data\":{\"n\":2,\"s\":\"two\"}},"
        + "{\"channel\":\"" + EdgeProfiles.NewsChannel + "\",\"data\":\"" + Marker + "\"}]";

    /// <summary>Headers that frame the message or describe the connection, not the answer.</summary>
    private static readonly HashSet<string> FramingHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Transfer-Encoding", "Content-Length", "Connection", "Date", "Keep-Alive", "Server", "Proxy-Connection",
    };

    public static async Task HealthCheckAsync(RawHttpConnection connection, string authority, CancellationToken cancellationToken)
    {
        await connection.SendAsync(Encoding.ASCII.GetBytes($"GET /_edge/health HTTP/1.1\r\nHost: {authority}\r\n\r\n"), cancellationToken);
        var head = await connection.ReadHeadAsync("GET", cancellationToken);
        await connection.ReadBodyToEndAsync(cancellationToken);
        if (head.Status != 200 || connection.Closed)
        {
            throw new InvalidOperationException($"The health check that puts the request on Kestrel's path failed: {head}");
        }
    }

    /// <summary>Runs both attempts and returns every difference (empty when the answers agree).</summary>
    public static async Task<List<string>> RunAsync(DifferentialCase @case, CaseContext context, Action<string>? log = null)
    {
        var spec = @case.Request(context);
        Attempt direct, kestrel;
        if (@case.Sequential)
        {
            var (baseConnections, baseLeases) = Counts(context.Edge);
            direct = await OpenAsync(context, spec, viaKestrel: false);
            await CollectAsync(direct, untilMarker: false);
            direct.Connection?.Dispose();
            await SettleAsync(context.Edge, baseConnections, baseLeases);
            kestrel = await OpenAsync(context, spec, viaKestrel: true);
            await CollectAsync(kestrel, untilMarker: false);
            kestrel.Connection?.Dispose();
        }
        else
        {
            var opening = await Task.WhenAll(OpenAsync(context, spec, viaKestrel: false), OpenAsync(context, spec, viaKestrel: true));
            (direct, kestrel) = (opening[0], opening[1]);
            if (direct.IsLiveStream || kestrel.IsLiveStream)
            {
                using var published = await context.Edge.PublishAsync(
                    EventsJson,
                    cancellationToken: context.CancellationToken).WaitAsync(AnswerTimeout, context.CancellationToken);
                if (published.StatusCode != HttpStatusCode.Accepted)
                {
                    throw new InvalidOperationException($"Publishing the case's events answered {(int)published.StatusCode}.");
                }
            }

            await Task.WhenAll(CollectAsync(direct, untilMarker: true), CollectAsync(kestrel, untilMarker: true));
            direct.Connection?.Dispose();
            kestrel.Connection?.Dispose();
        }

        if (log is not null)
        {
            foreach (var attempt in new[] { direct, kestrel })
            {
                log($"{attempt.Path}: {attempt.Head?.ToString() ?? "(no answer)"}{(attempt.Error is { } e ? " [" + e + "]" : string.Empty)}");
                log(attempt.Sse is { } sse ? $"  events: [{ShowFrames(sse.Frames)}]{(attempt.BodyEnded ? " (ended)" : string.Empty)}" : $"  body: {Show(attempt.Body)}");
            }
        }

        return Compare(@case, spec, direct, kestrel);
    }

    private static List<string> Compare(DifferentialCase @case, RequestSpec spec, Attempt direct, Attempt kestrel)
    {
        var differences = new List<string>();
        if (kestrel.Error is { } kestrelError)
        {
            differences.Add($"the Kestrel path gave no answer to compare with: {kestrelError}");
        }

        if (direct.Error is { } directError)
        {
            differences.Add($"the direct path {directError}" + (kestrel.Head is { } k ? $"; Kestrel answered {k.StatusLine}" : string.Empty));
        }

        if (direct.Head is not { } d || kestrel.Head is not { } kh)
        {
            return differences;
        }

        if (@case.KestrelStatus is { } expected && kh.Status != expected)
        {
            differences.Add($"the Kestrel path answered {kh.Status}, not the {expected} this case is about (so the case would not test what it says)");
        }

        if (d.Status != kh.Status)
        {
            differences.Add($"status: direct {d.Status}, Kestrel {kh.Status}");
        }

        var directHeaders = ContractHeaders(d);
        var kestrelHeaders = ContractHeaders(kh);
        foreach (var name in directHeaders.Keys.Union(kestrelHeaders.Keys, StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase))
        {
            var dv = directHeaders.GetValueOrDefault(name);
            var kv = kestrelHeaders.GetValueOrDefault(name);
            if (!string.Equals(dv, kv, StringComparison.Ordinal))
            {
                differences.Add($"header {name}: direct {Show(dv)}, Kestrel {Show(kv)}");
            }
        }

        if (d.IsEventStream != kh.IsEventStream)
        {
            differences.Add($"body: direct {(d.IsEventStream ? "an event stream" : "not an event stream")}, Kestrel {(kh.IsEventStream ? "an event stream" : "not an event stream")}");
        }
        else if (d.IsEventStream)
        {
            var df = direct.Sse!.Frames;
            var kf = kestrel.Sse!.Frames;
            if (!df.SequenceEqual(kf, StringComparer.Ordinal))
            {
                differences.Add($"events: direct [{ShowFrames(df)}], Kestrel [{ShowFrames(kf)}]");
            }

            if (!@case.Sequential)
            {
                foreach (var attempt in new[] { direct, kestrel })
                {
                    if (attempt.Head!.Status == 200 && !attempt.BodyEnded && !attempt.Sse!.HasData(Marker))
                    {
                        differences.Add($"the {attempt.Path} path's open stream did not deliver the events published during the case within {AnswerTimeout.TotalSeconds:0} s");
                    }
                }
            }
        }
        else if (!string.Equals(direct.Body, kestrel.Body, StringComparison.Ordinal))
        {
            differences.Add($"body: direct {Show(direct.Body)}, Kestrel {Show(kestrel.Body)}");
        }

        if (@case.Direct)
        {
            // Kestrel answers an HTTP/1.1 request with Content-Length or chunked framing and keeps the
            // connection; the direct path closes it and delimits the body by the close.
            var closes = d.Values("Connection").Any(v => v.Contains("close", StringComparison.OrdinalIgnoreCase));
            if (!closes || d.Framing != BodyFraming.Close)
            {
                differences.Add($"the first request was not served by the direct path (framing {d.Framing}, Connection: {Show(string.Join(", ", d.Values("Connection")))}), so this case compared Kestrel with Kestrel");
            }
        }

        _ = spec;
        return differences;
    }

    private static SortedDictionary<string, string> ContractHeaders(RawResponseHead head)
    {
        var headers = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var group in head.Headers.Where(h => !FramingHeaders.Contains(h.Name)).GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase))
        {
            headers[group.Key] = string.Join(" \u2016 ", group.Select(h => h.Value));
        }

        return headers;
    }

    private static string Show(string? value) => value is null ? "(none)" : "'" + (value.Length > 600 ? value[..600] + "..." : value) + "'";

    private static string ShowFrames(IReadOnlyList<string> frames) => string.Join(" \u00b7 ", frames.Select(f => f.Replace("\n", "\u23ce", StringComparison.Ordinal)));

    private static (long Connections, int Leases) Counts(EdgeTestHost edge) =>
        (edge.Services.GetRequiredService<EdgeMetrics>().Connections, edge.Services.GetRequiredService<ConnectionLimiter>().Counts.Total);

    /// <summary>Waits until the first attempt's stream (if any) is closed and its lease and permit are released.</summary>
    private static async Task SettleAsync(EdgeTestHost edge, long connections, int leases)
    {
        var deadline = DateTime.UtcNow + AnswerTimeout;
        while (Counts(edge) is var (c, l) && (c > connections || l > leases))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The first attempt's stream was still counted {AnswerTimeout.TotalSeconds:0} s after its connection closed ({c} streams, {l} leases; {connections} and {leases} before).");
            }

            await Task.Delay(10);
        }

        // The rate-limit permit is released right after the lease, in the same call.
        await Task.Delay(50);
    }

    private static async Task<Attempt> OpenAsync(CaseContext context, RequestSpec spec, bool viaKestrel)
    {
        var attempt = new Attempt(viaKestrel ? "Kestrel" : "direct");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(AnswerTimeout);
        var stage = "connecting";
        try
        {
            attempt.Connection = await RawHttpConnection.ConnectAsync(context.Port, timeout.Token);
            if (viaKestrel)
            {
                stage = "answering the health check first on its connection";
                await HealthCheckAsync(attempt.Connection, context.Authority, timeout.Token);
            }

            stage = "sending the request";
            for (var i = 0; i < spec.Pieces.Count; i++)
            {
                if (i > 0 && spec.Pause > TimeSpan.Zero)
                {
                    await Task.Delay(spec.Pause, timeout.Token);
                }

                await attempt.Connection.SendAsync(spec.Pieces[i], timeout.Token);
            }

            for (var i = 0; i < spec.LeadingResponses; i++)
            {
                stage = $"answering the pipelined request {i + 1}";
                await attempt.Connection.ReadHeadAsync("GET", timeout.Token);
                await attempt.Connection.ReadBodyToEndAsync(timeout.Token);
            }

            stage = "sending the response head";
            attempt.Head = await attempt.Connection.ReadHeadAsync(spec.Method, timeout.Token);
            if (attempt.Head.IsEventStream)
            {
                attempt.Sse = new SseFrameReader();
            }
            else
            {
                stage = "sending the response body";
                attempt.Body = Encoding.UTF8.GetString(await attempt.Connection.ReadBodyToEndAsync(timeout.Token));
                attempt.BodyEnded = true;
            }
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            attempt.Error = $"timed out after {AnswerTimeout.TotalSeconds:0} s {stage}";
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            attempt.Error = $"failed {stage}: {ex.Message}";
        }

        return attempt;
    }

    /// <summary>Reads a stream's frames until the case's last event, the end of the body, or (sequential) a quiet spell.</summary>
    private static async Task CollectAsync(Attempt attempt, bool untilMarker)
    {
        if (attempt.Sse is not { } sse || attempt.Connection is not { } connection)
        {
            return;
        }

        using var budget = new CancellationTokenSource(AnswerTimeout);
        try
        {
            while (!(untilMarker && sse.HasData(Marker)))
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(budget.Token);
                if (!untilMarker)
                {
                    quiet.CancelAfter(Quiet);
                }

                if (await connection.ReadBodyAsync(quiet.Token) is not { } piece)
                {
                    attempt.BodyEnded = true;
                    return;
                }

                sse.Feed(piece.Span);
            }
        }
        catch (OperationCanceledException)
        {
            // Quiet (sequential), or the budget is spent: compare what arrived.
        }
        catch (IOException ex)
        {
            attempt.Error ??= $"broke off its body: {ex.Message}";
        }
    }

    private sealed class Attempt(string path)
    {
        public string Path { get; } = path;

        public RawHttpConnection? Connection { get; set; }

        public RawResponseHead? Head { get; set; }

        public string? Body { get; set; }

        public SseFrameReader? Sse { get; set; }

        public bool BodyEnded { get; set; }

        public string? Error { get; set; }

        public bool IsLiveStream => Head is { IsEventStream: true } && !BodyEnded && Error is null;
    }
}
