using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Edge.Brokers.InMemory;
using Edge.Hub;
using Edge.Testing;
using Edge.Tests.Functional;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Browser;

/// <summary>
/// A native EventSource in headless Chromium (Debian's package, driven by playwright-core),
/// against a page the edge proxies from an upstream: the browser's own reconnection after an
/// edge restart must resume exactly, with the Last-Event-ID header it sends by itself.
/// </summary>
[Trait("Category", "Browser")]
public sealed class BrowserEventSourceTests
{
    private const string Page = """
        <!doctype html><html><body><script>
        window.received = []; window.opens = 0;
        const es = new EventSource('/events?channels=browser');
        es.onopen = () => window.opens++;
        const keep = e => window.received.push({ type: e.type, data: e.data, id: e.lastEventId });
        es.onmessage = keep;
        es.addEventListener('notification', keep);
        </script></body></html>
        """;

    [Fact]
    public async Task NativeEventSource_ReceivesEvents_AndResumesByItselfAcrossAnEdgeRestart()
    {
        await using var upstream = await UpstreamTestServer.StartAsync(app => app.MapGet("/page.html", () => Results.Content(Page, "text/html")));
        var port = FreePort();
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        var settings = TestSettings.Default(
            ("Edge:Urls", $"http://127.0.0.1:{port}"),
            // Long enough for the reconnect to come after the stopping edge is gone: while it
            // drains it still listens and answers a new stream with 503, which ends a native
            // EventSource for good (seen here under load with 300 ms).
            ("Edge:Shutdown:RetryHintMilliseconds", "2000"),
            ("ReverseProxy:Routes:app:ClusterId", "app"),
            ("ReverseProxy:Routes:app:Match:Path", "{**catch-all}"),
            ("ReverseProxy:Clusters:app:Destinations:d1:Address", upstream.Address.ToString()));

        var first = await EdgeTestHost.StartAsync(settings, configureServices: s => s.AddSingleton(log));
        EdgeTestHost? second = null;
        using var browser = StartBrowser($"http://127.0.0.1:{port}/page.html", expected: 7);
        try
        {
            await WaitUntilAsync(() => first.Services.GetRequiredService<EventHub>().ConnectionCount == 1, browser);
            using (await first.PublishAsync("""[{"channel":"browser","data":"1"},{"channel":"browser","event":"notification","data":{"n":2}},{"channel":"browser","data":"three\nlines\nhere"}]"""))
            {
            }

            await Task.Delay(300);
            await first.DisposeAsync();
            using (await new InMemoryBroker(log).PublishAsync(
                [
                    new("browser", "m4", """{"channel":"browser","data":"4"}"""u8.ToArray()),
                    new("browser", "m5", """{"channel":"browser","data":"5"}"""u8.ToArray()),
                    new("browser", "m6", """{"channel":"browser","data":"6"}"""u8.ToArray()),
                ], CancellationToken.None).ContinueWith(_ => new MemoryStream()))
            {
            }

            second = await EdgeTestHost.StartAsync(settings, configureServices: s => s.AddSingleton(log));
            await WaitUntilAsync(() => second.Services.GetRequiredService<EventHub>().ConnectionCount == 1, browser);
            using (await second.PublishAsync("""{"channel":"browser","data":"7"}"""))
            {
            }

            var output = await browser.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
            await browser.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(browser.ExitCode == 0, output + await browser.StandardError.ReadToEndAsync());

            using var result = JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last());
            var received = result.RootElement.GetProperty("received").EnumerateArray()
                .Select(e => (Type: e.GetProperty("type").GetString(), Data: e.GetProperty("data").GetString(), Id: e.GetProperty("id").GetString()))
                .ToList();
            Assert.Equal(["1", """{"n":2}""", "three\nlines\nhere", "4", "5", "6", "7"], received.Select(r => r.Data));
            Assert.Equal("notification", received[1].Type);
            Assert.All(received, r => Assert.Matches("^[0-9a-z]+-[0-9]+$", r.Id));
            Assert.Equal(received.Count, received.Select(r => r.Id).Distinct().Count());
            Assert.Equal(2, result.RootElement.GetProperty("opens").GetInt32());
        }
        finally
        {
            if (!browser.HasExited)
            {
                browser.Kill(entireProcessTree: true);
            }

            await first.DisposeAsync();
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }
    }

    private static Process StartBrowser(string url, int expected)
    {
        // ES modules resolve packages from the script's own folder, where scripts/browser.sh installs them.
        var folder = FindBrowserFolder();
        var start = new ProcessStartInfo("node", [Path.Combine(folder, "eventsource-page.mjs"), url, expected.ToString(System.Globalization.CultureInfo.InvariantCulture), "45000"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        return Process.Start(start) ?? throw new InvalidOperationException("node did not start");
    }

    /// <summary>tests/Edge.Tests/Browser, with node_modules installed by scripts/browser.sh.</summary>
    private static string FindBrowserFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "Edge.Tests", "Browser");
            if (Directory.Exists(Path.Combine(candidate, "node_modules", "playwright-core")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("playwright-core is not installed: run scripts/browser.sh (scripts/test.sh does).");
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Process browser)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (browser.HasExited)
            {
                Assert.Fail($"the browser exited early ({browser.ExitCode}): {await browser.StandardOutput.ReadToEndAsync()} {await browser.StandardError.ReadToEndAsync()}");
            }
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the browser's stream");
            await Task.Delay(50);
        }
    }
}
