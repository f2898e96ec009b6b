using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Publisher.Samples.Publishers;

/// <summary>
/// Publishing through the edge's HTTP API: any service that can POST JSON can publish. One
/// request carries a batch; the edge accepts it whole (202) or rejects it whole (400 names the
/// field). 503 means the broker did not confirm: retry later with the same ids.
/// </summary>
public sealed class HttpPublisher(Uri edge, string key) : IEnvelopePublisher
{
    private readonly HttpClient _http = new()
    {
        BaseAddress = edge,
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", key) },
    };

    public async Task PublishAsync(IReadOnlyList<Envelope> batch, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("_edge/publish", batch, Envelope.Json, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
