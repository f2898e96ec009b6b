using System.Net;
using System.Text;
using Edge.Brokers;
using Edge.Brokers.InMemory;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Admin;

/// <summary>Ending a user's or a session's streams on every instance reading the log (two edges on one in-memory log).</summary>
[Trait("Category", "Operations")]
public sealed class EndStreamsTests
{
    [Fact]
    public async Task EndStreams_ClosesTheUsersAndTheSessionsStreams_OnBothInstances()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var a = await EdgeTestHost.StartAsync(TestSettings.Default(EndStreamsScenario.Settings), configureServices: s => s.AddSingleton(log));
        await using var b = await EdgeTestHost.StartAsync(TestSettings.Default(EndStreamsScenario.Settings), configureServices: s => s.AddSingleton(log));

        await EndStreamsScenario.RunAsync(a, b, json => new InMemoryBroker(log).PublishAsync([new BrokerMessage("session:s1", Guid.NewGuid().ToString("N"), Encoding.UTF8.GetBytes(json))], CancellationToken.None));

        using var http = a.CreateClient();
        var scrape = await PrometheusScrape.ReadAsync(http);
        Assert.Equal(2, scrape.Value("edge_streams_endings_total", ("reason", "ended")));
    }

    [Theory]
    [InlineData(null, """{"userId":"u1"}""", HttpStatusCode.Unauthorized)]
    [InlineData("wrong-key", """{"userId":"u1"}""", HttpStatusCode.Unauthorized)]
    [InlineData(EndStreamsScenario.AdminKey, """{"userId":"u1","sessionId":"s1"}""", HttpStatusCode.BadRequest)]
    [InlineData(EndStreamsScenario.AdminKey, """{}""", HttpStatusCode.BadRequest)]
    [InlineData(EndStreamsScenario.AdminKey, """not json""", HttpStatusCode.BadRequest)]
    [InlineData(EndStreamsScenario.AdminKey, """{"userId":"a\nb"}""", HttpStatusCode.BadRequest)]
    public async Task EndStreams_WithoutTheKeyOrWithABadBody_IsRefused(string? key, string body, HttpStatusCode expected)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(EndStreamsScenario.Settings));
        await using var stream = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?userId=u1");
        using var http = edge.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/_edge/admin/end-streams") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Edge-Key", key);
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        using var published = await edge.PublishAsync("""{"userId":"u1","data":"still open"}""");
        Assert.Equal("still open", (await stream.ReadEventAsync(TimeSpan.FromSeconds(15))).Data);
    }

    [Fact]
    public async Task ThePublishApi_RefusesControlRecords()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(EndStreamsScenario.Settings));
        using var response = await edge.PublishAsync("""{"control":"end-streams","userId":"u1"}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("admin API", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAdminKeys_TheCallIsNotServed()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var http = edge.CreateClient();
        using var response = await http.PostAsync("/_edge/admin/end-streams", new StringContent("""{"userId":"u1"}"""));
        Assert.NotEqual(HttpStatusCode.Accepted, response.StatusCode);
    }
}
