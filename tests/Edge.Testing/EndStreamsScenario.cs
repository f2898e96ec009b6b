using System.Net;
using System.Text;

namespace Edge.Testing;

/// <summary>
/// Ending a user's and a session's streams on two edge instances that read one broker: through the
/// admin call on one instance, and as a control record a broker-native publisher appends. Run by
/// the in-memory, RabbitMQ and Kafka tests alike.
/// </summary>
public static class EndStreamsScenario
{
    public const string AdminKey = "admin-key-for-tests";

    public static readonly (string Key, string? Value)[] Settings = [("Edge:Admin:ApiKeys:0", AdminKey)];

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <param name="publishNative">Appends the given control-record JSON to the log the way a broker-native publisher would.</param>
    /// <param name="publishKey">A key of the edges' publish API.</param>
    public static async Task RunAsync(EdgeTestHost a, EdgeTestHost b, Func<string, Task> publishNative, string publishKey = TestSettings.PublishKey)
    {
        var endedOnA = await OpenAsync(a, "/events?userId=u1");
        var endedOnB = await OpenAsync(b, "/events?userId=u1");
        var keptOnA = await OpenAsync(a, "/events?userId=u2");
        var keptOnB = await OpenAsync(b, "/events?userId=u2");
        var sessionOnA = await OpenAsync(a, "/events?userId=u3&sessionId=s1");
        var sessionOnB = await OpenAsync(b, "/events?userId=u3&sessionId=s1");
        var otherSession = await OpenAsync(b, "/events?userId=u3&sessionId=s2");
        try
        {
            using (var http = a.CreateClient())
            using (var request = new HttpRequestMessage(HttpMethod.Post, "/_edge/admin/end-streams") { Content = new StringContent("""{"userId":"u1"}""", Encoding.UTF8, "application/json") })
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
                using var response = await http.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.Accepted)
                {
                    throw new InvalidOperationException($"end-streams answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
            }

            await ExpectEndedAsync(endedOnA);
            await ExpectEndedAsync(endedOnB);

            await publishNative("""{"control":"end-streams","sessionId":"s1"}""");
            await ExpectEndedAsync(sessionOnA);
            await ExpectEndedAsync(sessionOnB);

            // Everyone else keeps streaming.
            using (var published = await a.PublishAsync("""[{"userId":"u2","data":"still here"},{"userId":"u3","data":"s2 too"}]""", publishKey))
            {
                if (published.StatusCode != HttpStatusCode.Accepted)
                {
                    throw new InvalidOperationException("publish answered " + (int)published.StatusCode);
                }
            }

            Expect("still here", (await keptOnA.ReadEventAsync(Wait)).Data);
            Expect("still here", (await keptOnB.ReadEventAsync(Wait)).Data);
            Expect("s2 too", (await otherSession.ReadEventAsync(Wait)).Data);
        }
        finally
        {
            foreach (var client in new[] { endedOnA, endedOnB, keptOnA, keptOnB, sessionOnA, sessionOnB, otherSession })
            {
                await client.DisposeAsync();
            }
        }
    }

    private static async Task<SseTestClient> OpenAsync(EdgeTestHost edge, string path)
    {
        var client = await SseTestClient.ConnectAsync(edge.BaseAddress, path);
        if (client.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"{path} answered {(int)client.StatusCode}");
        }

        await client.ReadFrameAsync(Wait);
        return client;
    }

    /// <summary>The stream gets the final <c>stream-ended</c> error event, then the edge closes it.</summary>
    private static async Task ExpectEndedAsync(SseTestClient client)
    {
        var final = await client.ReadEventAsync(Wait);
        Expect("error", final.Event);
        Expect("""{"error":"Unauthorized","code":401,"reason":"stream-ended"}""", final.Data);
        await client.WaitForEndAsync(Wait);
        if (!client.Ended)
        {
            throw new InvalidOperationException("the stream stayed open after end-streams");
        }
    }

    private static void Expect(string? expected, string? actual)
    {
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"expected '{expected}', got '{actual}'");
        }
    }
}
