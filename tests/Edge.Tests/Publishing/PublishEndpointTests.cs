using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Edge.Brokers.InMemory;
using Edge.Tests.Functional;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Publishing;

public sealed class PublishEndpointTests
{
    private static async Task<(HttpStatusCode Status, JsonDocument? Body, HttpResponseMessage Response)> PostAsync(EdgeTestHost edge, string body, Action<HttpRequestHeaders>? headers = null)
    {
        using var http = edge.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Post, "/_edge/publish") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (headers is null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestSettings.PublishKey);
        }
        else
        {
            headers(request.Headers);
        }

        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text) : null, response);
    }

    [Fact]
    public async Task Publish_Array_Returns202WithIdsInOrder()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var (status, body, _) = await PostAsync(edge, """[{"channel":"a","data":1},{"channel":"b","data":2,"id":"mine-7"},{"channel":"c","data":3}]""");

        Assert.Equal(HttpStatusCode.Accepted, status);
        var ids = body!.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(3, ids.Count);
        Assert.Equal("mine-7", ids[1]);
        Assert.Equal(3, ids.Distinct().Count());
    }

    [Fact]
    public async Task Publish_WithoutKey_Is401()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var (status, body, response) = await PostAsync(edge, """{"channel":"a"}""", _ => { });
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(401, body!.RootElement.GetProperty("status").GetInt32());

        (status, _, _) = await PostAsync(edge, """{"channel":"a"}""", h => h.Authorization = new AuthenticationHeaderValue("Bearer", "wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task Publish_WithXEdgeKey_IsAccepted()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var (status, _, _) = await PostAsync(edge, """{"channel":"a","data":"x"}""", h => h.Add("X-Edge-Key", TestSettings.PublishKey));
        Assert.Equal(HttpStatusCode.Accepted, status);
    }

    [Theory]
    [InlineData("{not json", "$")]
    [InlineData("""{"data":1}""", "channel")]
    [InlineData("""{"channel":"a","event":"x\r\ny"}""", "event")]
    [InlineData("""[]""", "$")]
    [InlineData("""[{"channel":"ok"},{"channel":"a","event":"bad\nname"}]""", "[1].event")]
    public async Task Publish_InvalidInput_Is400NamingTheField(string json, string field)
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        var (status, body, response) = await PostAsync(edge, json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(body!.RootElement.GetProperty("errors").TryGetProperty(field, out _), body.RootElement.ToString());
    }

    [Fact]
    public async Task Publish_BodyOverTheLimit_Is400()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(("Edge:Publish:MaxBodyBytes", "100")));
        var (status, body, _) = await PostAsync(edge, $$"""{"channel":"a","data":"{{new string('x', 200)}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(body!.RootElement.GetProperty("errors").TryGetProperty("body", out _));
    }

    [Fact]
    public async Task Publish_ArrayWithOneBadEnvelope_PublishesNothing()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(), configureServices: s => s.AddSingleton(log));
        var before = log.GetNextOffsets()[0];

        var (status, _, _) = await PostAsync(edge, """[{"channel":"a","data":1},{"channel":"","data":2}]""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(before, log.GetNextOffsets()[0]);
    }

    [Fact]
    public async Task Publish_BrokerUnavailable_Is503WithRetryAfter_AndReadinessSaysSo()
    {
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default(), configureServices: s => s.AddSingleton(log));
        log.IsAvailable = false;

        var (status, _, response) = await PostAsync(edge, """{"channel":"a","data":1}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.NotNull(response.Headers.RetryAfter);

        using var http = edge.CreateClient();
        using var ready = await http.GetAsync("/_edge/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        log.IsAvailable = true;
        using var readyAgain = await http.GetAsync("/_edge/ready");
        Assert.Equal(HttpStatusCode.OK, readyAgain.StatusCode);
    }

    [Fact]
    public async Task Publish_GetIsNotProxied_Is405()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        using var http = edge.CreateClient();
        using var response = await http.GetAsync("/_edge/publish");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }
}
