using System.Net;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Diagnostics;

/// <summary>
/// One stream request refused for each kind of reason (auth, channel, limit, rate, draining), on an
/// edge with these settings: what the metrics and the logs of a refusal are checked against.
/// </summary>
internal static class RefusalScenario
{
    public static (string Key, string? Value)[] Settings(params (string Key, string? Value)[] more) =>
    [
        .. TestTokens.JwtStream("secure"),
        ("Edge:Streams:secure:Path", "/secure"),
        ("Edge:Streams:events:Limits:MaxConnectionsPerUser", "1"),
        ("Edge:Streams:limited:Path", "/limited"),
        ("Edge:Streams:limited:RateLimitPolicy", "once"),
        ("Edge:RateLimiting:Policies:once:PermitLimit", "1"),
        ("Edge:RateLimiting:Policies:once:Window", "00:10:00"),
        .. more,
    ];

    /// <summary>
    /// No token (401), another user's channel (403), a second stream of a user limited to one (429),
    /// a second connect under a one-permit policy (429), then a request while draining (503). Returns
    /// the streams held open meanwhile (the caller disposes them).
    /// </summary>
    public static async Task<IAsyncDisposable[]> RunAsync(EdgeTestHost edge, HttpClient http)
    {
        await ExpectAsync(http, "/secure", HttpStatusCode.Unauthorized);
        await ExpectAsync(http, "/events?userId=u1&channels=user:u2", HttpStatusCode.Forbidden);
        var held = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        await ExpectAsync(http, "/events?userId=u1", HttpStatusCode.TooManyRequests);
        var admitted = await SseTestClient.ConnectAsync(edge.BaseAddress, "/limited");
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        await ExpectAsync(http, "/limited", HttpStatusCode.TooManyRequests);
        edge.Services.GetRequiredService<Edge.Hub.EventHub>().BeginDrain();
        await ExpectAsync(http, "/events", HttpStatusCode.ServiceUnavailable);
        return [held, admitted];
    }

    public static async Task ExpectAsync(HttpClient http, string path, HttpStatusCode expected)
    {
        using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(expected, response.StatusCode);
    }
}
