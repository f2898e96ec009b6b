using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Publisher.Samples;

/// <summary>
/// Publishing through the edge's HTTP API: any service that can POST JSON can publish.
/// <code>dotnet run --project src/Publisher.Samples -- http [edge-url] [key] [channel] [count]</code>
/// </summary>
public static class HttpPublisher
{
    public static async Task<int> RunAsync(string[] args)
    {
        var edge = new Uri(args.Length > 0 ? args[0] : "http://127.0.0.1:8080/");
        var key = args.Length > 1 ? args[1] : "dev-publish-key";
        var channel = args.Length > 2 ? args[2] : "orders";
        var count = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1;

        using var http = new HttpClient { BaseAddress = edge };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        // One request may carry many envelopes; it is accepted whole or rejected whole.
        var envelopes = Enumerable.Range(1, count).Select(i => new
        {
            channel,
            @event = "notification",
            data = new { message = $"Order #{12344 + i} shipped" },
        });
        using var response = await http.PostAsJsonAsync("_edge/publish", envelopes);
        Console.WriteLine($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");

        // 503 means the broker did not confirm: retry later with the same ids (set "id" yourself
        // to make retries idempotent); 400 names the field that is wrong.
        return response.IsSuccessStatusCode ? 0 : 1;
    }
}
