using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Edge.Brokers.InMemory;
using Edge.Diagnostics;
using Edge.Testing;
using Edge.Tests.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Edge.Tests.Diagnostics;

/// <summary>What the edge logs: each refusal and broker change once with its reason and id, JSON on request, never a secret.</summary>
[Trait("Category", "Operations")]
public sealed class StructuredLogTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task EveryRefusal_IsLoggedOnce_WithItsReasonAndEventId()
    {
        var logs = new CapturingLoggerProvider();
        await using var edge = await EdgeTestHost.StartAsync(
            TestSettings.Default(RefusalScenario.Settings(("Logging:LogLevel:Edge", "Information"))),
            configureServices: s => s.AddSingleton<ILoggerProvider>(logs));
        using var http = edge.CreateClient();
        foreach (var held in await RefusalScenario.RunAsync(edge, http))
        {
            await using var _ = held;
        }

        var refusals = logs.Entries.Where(e => e.EventId is EdgeEventIds.AuthRefused or EdgeEventIds.ChannelRefused or EdgeEventIds.ConnectionLimitRefused or EdgeEventIds.RateLimited or EdgeEventIds.RequestRefused).ToList();
        Assert.Equal(
            [
                (EdgeEventIds.AuthRefused, "missing-token"),
                (EdgeEventIds.ChannelRefused, "channel-of-someone-else"),
                (EdgeEventIds.ConnectionLimitRefused, "user-stream-connection-limit"),
                (EdgeEventIds.RateLimited, "rate-limited"),
                (EdgeEventIds.RequestRefused, "draining"),
            ],
            refusals.Select(e => (e.EventId, Reason(e.Message))));
        Assert.All(refusals, e => Assert.Equal(LogLevel.Information, e.Level));

        static string Reason(string message) => new[] { "missing-token", "channel-of-someone-else", "user-stream-connection-limit", "rate-limited", "draining" }.Single(r => message.Contains(r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task BrokerStateChanges_AreLoggedOncePerChange()
    {
        var logs = new CapturingLoggerProvider();
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var edge = await EdgeTestHost.StartAsync(
            TestSettings.Default(("Logging:LogLevel:Edge", "Information"), ("Edge:Streams:events:Heartbeat:Interval", "00:00:00.2")),
            configureServices: s => s.AddSingleton(log).AddSingleton<ILoggerProvider>(logs));

        log.IsAvailable = false;
        await EventuallyAsync(() => logs.Has(EdgeEventIds.BrokerUnavailable));

        // Several timer ticks pass while it stays down: still one line.
        await Task.Delay(500);
        log.IsAvailable = true;
        await EventuallyAsync(() => logs.Has(EdgeEventIds.BrokerAvailable));
        await Task.Delay(300);

        var unavailable = Assert.Single(logs.Entries, e => e.EventId == EdgeEventIds.BrokerUnavailable);
        Assert.Equal(LogLevel.Warning, unavailable.Level);
        Assert.Contains("InMemory", unavailable.Message, StringComparison.Ordinal);
        Assert.Single(logs.Entries, e => e.EventId == EdgeEventIds.BrokerAvailable);
    }

    [Fact]
    public async Task NoTokenKeyOrCookie_IsEverLogged_EvenAtTrace()
    {
        const string publishKey = "publish-key-never-logged-7f3a";
        const string metricsKey = "metrics-key-never-logged-91c2";
        const string cookie = "cookie-value-never-logged-5d0e";
        var logs = new CapturingLoggerProvider();
        await using var auth = await UpstreamTestServer.StartAsync(app => app.MapGet("/auth", (HttpContext context) =>
        {
            if (!context.Request.Cookies.ContainsKey("session"))
            {
                return Results.StatusCode(401);
            }

            context.Response.Headers["X-User-Id"] = "carol";
            return Results.Ok();
        }));
        await using var edge = await EdgeTestHost.StartAsync(
            TestSettings.Default(
            [
                ("Edge:Publish:ApiKeys:0", publishKey),
                ("Edge:Metrics:ApiKeys:0", metricsKey),
                .. TestTokens.JwtStream("secure", ("Edge:Streams:secure:Auth:Jwt:Cookie", "jwt")),
                ("Edge:Streams:secure:Path", "/secure"),
                ("Edge:Streams:forward:Path", "/forward"),
                ("Edge:Streams:forward:Auth:Mode", "Forward"),
                ("Edge:Streams:forward:Auth:Forward:Url", new Uri(auth.Address, "/auth").ToString()),
                ("Logging:LogLevel:Default", "Trace"),
                ("Logging:LogLevel:Edge", "Trace"),
            ]),
            configureServices: s => s.AddSingleton<ILoggerProvider>(logs));

        var token = TestTokens.Create(channels: new[] { "orders" });
        var expired = TestTokens.Create(expiresIn: TimeSpan.FromMinutes(-5));
        var forged = TestTokens.Create(key: TestTokens.SecretKey("another-secret-that-is-long-enough-for-hs256"));
        using var http = edge.CreateClient();
        foreach (var (path, headers) in new (string, Dictionary<string, string>)[]
        {
            ("/secure?channels=orders", TestTokens.Bearer(token)),
            ("/secure?token=" + expired, []),
            ("/secure", new() { ["Cookie"] = "jwt=" + forged }),
            ("/secure?token=" + token, TestTokens.Bearer(forged)),
            ("/forward", new() { ["Cookie"] = "session=" + cookie }),
            ("/forward", new() { ["Cookie"] = "other=" + cookie }),
        })
        {
            await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, path, headers: headers);
            if (client.StatusCode == HttpStatusCode.OK)
            {
                await client.ReadFrameAsync(Wait);
            }
        }

        foreach (var key in new[] { publishKey, "a-wrong-publish-key-3b1f" })
        {
            using var _ = await edge.PublishAsync("""{"channel":"orders","data":1}""", key);
        }

        foreach (var key in new[] { metricsKey, "a-wrong-metrics-key-8e2a" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/_edge/metrics");
            request.Headers.TryAddWithoutValidation("X-Edge-Key", key);
            using var _ = await http.SendAsync(request);
        }

        Assert.True(logs.Entries.Count > 20, "the test logs at Trace: " + logs.All);
        Assert.True(logs.Has(EdgeEventIds.AuthRefused), logs.All);
        foreach (var secret in new[] { token, expired, forged, token.Split('.')[2], publishKey, "a-wrong-publish-key-3b1f", metricsKey, "a-wrong-metrics-key-8e2a", cookie })
        {
            Assert.DoesNotContain(secret, logs.All, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task JsonConsoleLogs_AreOneJsonObjectPerLine_WithEventIdAndReason()
    {
        var config = Path.Combine(Path.GetTempPath(), $"edge-json-logs-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, """{"Edge":{"Streams":{"events":{"Path":"/events"}},"Publish":{"ApiKeys":["k-json-test-key"]}}}""");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Edge.dll"), "--config", config, "--Edge:Urls=http://127.0.0.1:0", "--Logging:Console:FormatterName=json", "--Edge:DirectStreams=false" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var lines = new List<string>();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? address = null;
            while (address is null)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("The edge exited: " + string.Join("\n", lines) + await process.StandardError.ReadToEndAsync());
                lines.Add(line);
                using var entry = JsonDocument.Parse(line);
                if (entry.RootElement.GetProperty("Category").GetString() == "Microsoft.Hosting.Lifetime" && entry.RootElement.TryGetProperty("State", out var state) && state.TryGetProperty("address", out var bound))
                {
                    address = bound.GetString();
                }
            }

            using var http = new HttpClient { BaseAddress = new Uri(address) };
            using (var refused = await http.GetAsync("/events?userId=u1&channels=user:u2", timeout.Token))
            {
                Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            }

            JsonElement? found = null;
            while (found is null)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("The edge exited");
                lines.Add(line);
                using var entry = JsonDocument.Parse(line);
                if (entry.RootElement.GetProperty("EventId").GetInt32() == EdgeEventIds.ChannelRefused)
                {
                    found = entry.RootElement.Clone();
                }
            }

            Assert.Equal("Information", found.Value.GetProperty("LogLevel").GetString());
            Assert.Equal("channel-of-someone-else", found.Value.GetProperty("State").GetProperty("Reason").GetString());
            Assert.Equal("events", found.Value.GetProperty("State").GetProperty("Stream").GetString());
            Assert.True(found.Value.TryGetProperty("Timestamp", out _), "a timestamp on every line");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            File.Delete(config);
        }
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }
}
