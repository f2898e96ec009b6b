using System.Net;
using System.Text.Json;
using Edge.Testing;
using Xunit;

namespace Edge.Tests.Auth;

internal static class AuthAssert
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>The response is <paramref name="status"/> with a problem+json body; returns its detail.</summary>
    public static async Task<string> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Wait));
        Assert.Equal((int)status, document.RootElement.GetProperty("status").GetInt32());
        return document.RootElement.GetProperty("detail").GetString()!;
    }

    /// <summary>A stream request answered with <paramref name="status"/> and problem+json.</summary>
    public static async Task<string> RefusedAsync(EdgeTestHost edge, string path, HttpStatusCode status, IDictionary<string, string>? headers = null)
    {
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, path, headers: headers);
        return await ProblemAsync(client.Response, status);
    }

    /// <summary>Publishes to <paramref name="channel"/> and checks <paramref name="client"/> receives it: the edge still serves.</summary>
    public static async Task StillServesAsync(EdgeTestHost edge, SseTestClient client, string channel = "orders")
    {
        var marker = Guid.NewGuid().ToString("N");
        using var published = await edge.PublishAsync($$"""{"channel":"{{channel}}","data":"{{marker}}"}""");
        Assert.Equal(HttpStatusCode.Accepted, published.StatusCode);
        while (true)
        {
            var frame = await client.ReadEventAsync(Wait);
            if (frame.Data == marker)
            {
                return;
            }
        }
    }
}
