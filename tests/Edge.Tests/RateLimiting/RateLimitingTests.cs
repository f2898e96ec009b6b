using System.Net;
using Edge.Hosting;
using Edge.Testing;
using Edge.Tests.Functional;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit;
using static Edge.Tests.Auth.AuthAssert;

namespace Edge.Tests.RateLimiting;

[Trait("Category", "Identity")]
public sealed class RateLimitingTests
{
    private static (string, string?)[] Policy(string name, string kind, string partitionBy, int permits, string window = "00:01:00") =>
    [
        ($"Edge:RateLimiting:Policies:{name}:Kind", kind),
        ($"Edge:RateLimiting:Policies:{name}:PartitionBy", partitionBy),
        ($"Edge:RateLimiting:Policies:{name}:PermitLimit", permits.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ($"Edge:RateLimiting:Policies:{name}:TokenLimit", permits.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ($"Edge:RateLimiting:Policies:{name}:Window", window),
        ($"Edge:RateLimiting:Policies:{name}:ReplenishmentPeriod", window),
    ];

    [Theory]
    [InlineData("FixedWindow")]
    [InlineData("SlidingWindow")]
    [InlineData("TokenBucket")]
    public async Task StreamConnects_OverThePolicy_Are429_WithRetryAfterAndProblem(string kind)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default([.. Policy("connects", kind, "Ip", 2), ("Edge:Streams:events:RateLimitPolicy", "connects")]));
        await using var a = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders");
        await using var b = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        await using var c = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        await ProblemAsync(c.Response, HttpStatusCode.TooManyRequests);
        Assert.NotNull(c.Response.Headers.RetryAfter);
        await StillServesAsync(edge, a);
    }

    [Fact]
    public async Task StreamConnects_EventStyle_Is200WithErrorEvent()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default([.. Policy("connects", "FixedWindow", "Ip", 1), ("Edge:Streams:events:RateLimitPolicy", "connects"), ("Edge:Streams:events:RefusalStyle", "Event")]));
        await using var a = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        await using var b = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        var frame = await b.ReadFrameAsync(Wait);
        Assert.Equal(("error", """{"error":"Too Many Requests","code":429,"reason":"rate-limited"}"""), (frame.Event, frame.Data));
        Assert.NotNull(frame.Retry);
    }

    [Fact]
    public async Task PartitionByUser_EachUserHasItsOwnLimit()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default([.. Policy("perUser", "FixedWindow", "User", 1), ("Edge:Streams:events:RateLimitPolicy", "perUser")]));
        await using var a = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        await using var b = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u2");
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        await RefusedAsync(edge, "/events?userId=u1", HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task Concurrency_HoldsAPermitPerOpenStream()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default([.. Policy("one", "Concurrency", "Route", 1), ("Edge:Streams:events:RateLimitPolicy", "one")]));
        var a = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        await RefusedAsync(edge, "/events", HttpStatusCode.TooManyRequests);
        await a.DisposeAsync();
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            await using var again = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
            if (again.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "The permit was never given back.");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task PublishApi_ByApiKey_Is429WithRetryAfter()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default([.. Policy("publish", "FixedWindow", "ApiKey", 2), ("Edge:Publish:RateLimitPolicy", "publish")]));
        for (var i = 0; i < 2; i++)
        {
            using var ok = await edge.PublishAsync("""{"channel":"c","data":"x"}""");
            Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
        }

        using var limited = await edge.PublishAsync("""{"channel":"c","data":"x"}""");
        await ProblemAsync(limited, HttpStatusCode.TooManyRequests);
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    [Fact]
    public async Task YarpRoute_RateLimiterPolicy_Is429()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/api/hello", () => "hello"));
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(
        [
            .. Policy("api", "FixedWindow", "Ip", 2),
            ("ReverseProxy:Routes:api:ClusterId", "app"),
            ("ReverseProxy:Routes:api:Match:Path", "/api/{**rest}"),
            ("ReverseProxy:Routes:api:RateLimiterPolicy", "api"),
            ("ReverseProxy:Clusters:app:Destinations:one:Address", upstream.Address.ToString()),
        ]));
        using var http = edge.CreateClient();
        Assert.Equal("hello", await http.GetStringAsync("/api/hello"));
        Assert.Equal("hello", await http.GetStringAsync("/api/hello"));
        using var limited = await http.GetAsync("/api/hello");
        await ProblemAsync(limited, HttpStatusCode.TooManyRequests);
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    [Fact]
    public async Task Policies_ReloadWithTheConfiguration()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/api/hello", () => "hello"));
        var file = Path.Combine(Path.GetTempPath(), $"edge-rl-{Guid.NewGuid():N}.json");
        string Config(int permits) => """
            {"Edge":{"RateLimiting":{"Policies":{"p":{"Kind":"FixedWindow","PartitionBy":"Ip","PermitLimit":PERMITS,"Window":"00:05:00"}}},
                     "Streams":{"events":{"Path":"/events","RateLimitPolicy":"p"}}},
             "ReverseProxy":{"Routes":{"api":{"ClusterId":"app","Match":{"Path":"/api/{**rest}"},"RateLimiterPolicy":"p"}},
                             "Clusters":{"app":{"Destinations":{"one":{"Address":"ADDRESS"}}}}}}
            """.Replace("PERMITS", permits.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("ADDRESS", upstream.Address.ToString(), StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, Config(1));
        try
        {
            await using var edge = await EdgeTestHost.StartAsync(new Dictionary<string, string?> { ["Edge:Publish:ApiKeys:0"] = TestSettings.PublishKey }, configFile: file);
            using var http = edge.CreateClient();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/hello")).StatusCode);
            Assert.Equal(HttpStatusCode.TooManyRequests, (await http.GetAsync("/api/hello")).StatusCode);
            await using (var first = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events"))
            {
                Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            }

            await RefusedAsync(edge, "/events", HttpStatusCode.TooManyRequests);

            await File.WriteAllTextAsync(file, Config(1000));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while ((await http.GetAsync("/api/hello")).StatusCode != HttpStatusCode.OK)
            {
                Assert.True(DateTime.UtcNow < deadline, "The raised limit never applied.");
                await Task.Delay(100);
            }

            await using var afterReload = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events");
            Assert.Equal(HttpStatusCode.OK, afterReload.StatusCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void InvalidPolicies_AndUnknownReferences_AreReportedByKey()
    {
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => EdgeApp.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Edge:Publish:ApiKeys:0"] = "k",
            ["Edge:Publish:RateLimitPolicy"] = "missing",
            ["Edge:RateLimiting:Policies:bad:Kind"] = "TokenBucket",
            ["Edge:RateLimiting:Policies:bad:TokensPerPeriod"] = "0",
            ["Edge:Streams:s:Path"] = "/s",
            ["Edge:Streams:s:RateLimitPolicy"] = "nope",
        })));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Publish:RateLimitPolicy", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:RateLimiting:Policies:bad:TokensPerPeriod", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Edge:Streams:s:RateLimitPolicy", StringComparison.Ordinal));
    }
}
