using Edge.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Edge.Testing;

/// <summary>A real edge host (Kestrel on a loopback port) built exactly as <c>Program</c> builds it.</summary>
public sealed class EdgeTestHost : IAsyncDisposable
{
    private static readonly Lazy<string> EmptyConfigFile = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"edge-test-empty-{Environment.ProcessId}.json");
        File.WriteAllText(path, "{}");
        return path;
    });

    private readonly WebApplication _app;
    private bool _stopped;

    private EdgeTestHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts an edge with <paramref name="settings"/> (configuration keys such as
    /// <c>Edge:Broker:Type</c>) layered over <paramref name="configFile"/> when given.
    /// <c>Edge:Urls</c> defaults to a random loopback port.
    /// </summary>
    public static async Task<EdgeTestHost> StartAsync(
        IDictionary<string, string?> settings,
        CancellationToken cancellationToken = default,
        string? configFile = null,
        Action<IServiceCollection>? configureServices = null)
    {
        // Without a file of its own, a test host must not pick up the repository's config/edge.json.
        configFile ??= EmptyConfigFile.Value;
        string[] args = ["--config", configFile];
        var all = new Dictionary<string, string?>(settings);
        all.TryAdd("Edge:Urls", "http://127.0.0.1:0");
        all.TryAdd("Logging:LogLevel:Default", "Warning");
        all.TryAdd("Logging:LogLevel:Edge", "Warning");
        var app = EdgeApp.Build(args, configuration => configuration.AddInMemoryCollection(all), builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            configureServices?.Invoke(builder.Services);
        });

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await app.StartAsync(timeout.Token).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EdgeTestHost(app, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    public HttpClient CreateClient(TimeSpan? timeout = null) => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = BaseAddress,
        Timeout = timeout ?? TimeSpan.FromSeconds(30),
    };

    /// <summary>Publishes envelopes (any JSON) through the publish API and returns the response.</summary>
    public async Task<HttpResponseMessage> PublishAsync(string json, string key = "dev-publish-key", CancellationToken cancellationToken = default)
    {
        using var client = CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "_edge/publish")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the host gracefully (draining open streams).</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
