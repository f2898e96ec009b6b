using System.Net;
using System.Text.Json;
using Edge.Brokers.InMemory;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Health;

/// <summary>The readiness JSON that Kubernetes probes (status code) and people (body) read: broker state, feed lag, draining.</summary>
[Trait("Category", "Operations")]
public sealed class ReadinessTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Ready_ReportsTheBrokerAndTheFeedsLag()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var http = edge.CreateClient();
        await using var stream = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=a");
        using (var _ = await edge.PublishAsync("""{"channel":"a","data":1}"""))
        {
            await stream.ReadEventAsync(Wait);
        }

        var (status, body) = await ReadyAsync(http);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        var broker = body.GetProperty("broker");
        Assert.Equal(("InMemory", "open", true), (broker.GetProperty("type").GetString(), broker.GetProperty("state").GetString(), broker.GetProperty("logOpen").GetBoolean()));
        var feed = body.GetProperty("feed");
        Assert.InRange(feed.GetProperty("lagSeconds").GetDouble(), 0, 5);
        Assert.Equal(1, feed.GetProperty("recordsRead").GetInt64());
        Assert.InRange(feed.GetProperty("lastRecordAt").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.False(feed.GetProperty("lagging").GetBoolean());
        Assert.False(body.GetProperty("draining").GetBoolean());
        Assert.Equal(1, body.GetProperty("connections").GetInt32());
    }

    [Fact]
    public async Task BrokerUnavailable_IsNotReady_AndSaysWhy()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(), configureServices: s => s.AddSingleton(log));
        using var http = edge.CreateClient();
        log.IsAvailable = false;

        var (status, body) = await ReadyAsync(http);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("not-ready", body.GetProperty("status").GetString());
        Assert.Equal("unavailable", body.GetProperty("broker").GetProperty("state").GetString());
        Assert.False(body.GetProperty("broker").GetProperty("available").GetBoolean());
    }

    [Fact]
    public async Task Draining_IsNotReady()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var http = edge.CreateClient();
        edge.Services.GetRequiredService<Edge.Hub.EventHub>().BeginDrain();

        var (status, body) = await ReadyAsync(http);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.True(body.GetProperty("draining").GetBoolean());
        Assert.Equal("open", body.GetProperty("broker").GetProperty("state").GetString());
    }

    [Fact]
    public async Task FeedBehindMaxFeedLag_IsNotReady()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Health:MaxFeedLag", "00:00:01")), configureServices: s => s.AddSingleton(log));
        using var http = edge.CreateClient();

        // A record the broker appended (by its timestamp) a minute before the edge read it.
        edge.Services.GetRequiredService<Edge.Diagnostics.EdgeMetrics>().RecordRead(DateTimeOffset.UtcNow.AddMinutes(-1).UtcTicks, DateTimeOffset.UtcNow.UtcTicks);
        var (status, body) = await ReadyAsync(http);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.True(body.GetProperty("feed").GetProperty("lagging").GetBoolean());
        Assert.InRange(body.GetProperty("feed").GetProperty("lagSeconds").GetDouble(), 59, 61);

        using (var _ = await edge.PublishAsync("""{"channel":"a","data":1}"""))
        {
        }

        var deadline = DateTime.UtcNow + Wait;
        while ((await ReadyAsync(http)).Status != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "a fresh record did not make the edge ready again");
            await Task.Delay(20);
        }
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/_edge/ready");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }
}
