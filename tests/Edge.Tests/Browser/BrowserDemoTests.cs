using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Edge.Brokers.InMemory;
using Edge.Hub;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Browser;

/// <summary>
/// The demo of config/edge.json in headless Chromium, as a newcomer uses it: publish from the page
/// and from the CLI and see the toast, the table row, the progress value and the chat line; then the
/// edge goes away and comes back, and the page resumes exactly where it stopped. Screenshots are
/// written to browser-artifacts/ beside the test binaries.
/// </summary>
[Trait("Category", "Browser")]
public sealed class BrowserDemoTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Demo_PublishFromThePageAndTheCli_ThePageShowsIt_AndResumesExactlyAfterTheEdgeComesBack()
    {
        var port = FreePort();
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        var settings = new Dictionary<string, string?>
        {
            ["Edge:Urls"] = $"http://127.0.0.1:{port}",
            // Long enough for the reconnect to come after the stopping edge is gone (see BrowserEventSourceTests).
            ["Edge:Shutdown:RetryHintMilliseconds"] = "2000",
            ["Edge:Shutdown:DrainTimeout"] = "00:00:05",
        };
        var configFile = Path.Combine(Configuration.ConfigFileTests.ConfigDirectory, "edge.json");
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "browser-artifacts")).FullName;
        var edge = await EdgeTestHost.StartAsync(settings, configFile: configFile, configureServices: s => s.AddSingleton(log));
        EdgeTestHost? second = null;
        BrowserPage? page = null;
        try
        {
            page = await BrowserPage.OpenAsync($"http://127.0.0.1:{port}/");
            await WaitAsync(page, "the page's stream and the htmx streams of the chat and the task", () => Task.FromResult(edge.Services.GetRequiredService<EventHub>().ConnectionCount == 3));
            await WaitForAsync(page, "document.getElementById('badge-state').textContent", "open");
            var session = (await page.EvalAsync("demo.sessionId")).GetString()!;

            // From the page: the order lifecycle, a sync, a chat line.
            await page.ClickAsync("#ship-order");
            await WaitForAsync(page, "[...document.querySelectorAll('#orders tbody tr')].map(r => r.cells[1].textContent).join(',')", "shipped");
            var orderToast = await WaitForAsync(page, "demo.toasts.filter(t => t.startsWith('Order Completed')).join('|')", null);
            Assert.Matches(@"^Order Completed: Your order #\d{5} has been shipped$", orderToast);
            await page.ClickAsync("#start-sync");
            await WaitForAsync(page, "String(document.getElementById('sync-progress').value) + ' ' + document.getElementById('sync-percent').textContent", "100 100%");
            Assert.Equal("Sync complete", (await page.EvalAsync("document.getElementById('sync-message').textContent")).GetString());
            await page.FillAsync("#chat-form input[name=name]", "ann");
            await page.FillAsync("#chat-form input[name=message]", "hello from the page");
            await page.ClickAsync("#chat-form button");
            await WaitForAsync(page, "[...document.querySelectorAll('#chat-room .chat-line')].map(l => l.textContent).join('|')", "ann hello from the page");
            await page.ClickAsync("#run-task");
            await WaitForAsync(page, "document.getElementById('task-status').textContent + ' ' + document.getElementById('task-percent').textContent + ' ' + document.querySelector('#task-track > div').style.width", "Done 100% 100%");

            // From the CLI, as the page suggests: an order, this page's session, a chat line.
            string[] http = ["--url", edge.BaseAddress.ToString(), "--rate", "0"];
            Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["http", "orders", .. http]).WaitAsync(WaitLimit));
            Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["http", "pdf", "--session", session, .. http]).WaitAsync(WaitLimit));
            Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["http", "chat", "--user", "cli", "--count", "1", .. http]).WaitAsync(WaitLimit));
            Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["http", "task-progress", "--count", "3", .. http]).WaitAsync(WaitLimit));
            await WaitForAsync(page, "document.querySelector('#orders tr[data-order-id=\"12345\"] td.status')?.textContent ?? ''", "shipped");
            await WaitForAsync(page, "demo.toasts.join('|')", "PDF processed: PDF processed: 1200 characters extracted");
            await WaitForAsync(page, "[...document.querySelectorAll('#chat-room .chat-line')].map(l => l.textContent).join('|')", "cli message 1 of 1");
            // The CLI's bar fragment is the seed's (its Tailwind classes), so it is told apart from the page's own.
            await WaitForAsync(page, "document.querySelectorAll('#task-track > div').length + ' ' + document.querySelector('#task-track > div').className + ' ' + document.querySelector('#task-track > div').style.width", "1 h-full bg-blue-500 100%");
            await page.ScreenshotAsync(Path.Combine(artifacts, "demo-live.png"));

            // The edge goes away; two toasts are published while it is gone; another edge takes the port.
            var before = (await page.EvalAsync("demo.lastEventId")).GetString()!;
            var receivedBefore = (await page.EvalAsync("demo.received.length")).GetInt32();
            await edge.DisposeAsync();
            await new InMemoryBroker(log).PublishAsync(
                [
                    new("orders", "gone-1", """{"channel":"orders","event":"notification","data":{"notificationType":"warning","title":"While you were away","message":"missed 1"}}"""u8.ToArray()),
                    new("orders", "gone-2", """{"channel":"orders","event":"notification","data":{"notificationType":"info","title":"While you were away","message":"missed 2"}}"""u8.ToArray()),
                ],
                CancellationToken.None);
            second = await EdgeTestHost.StartAsync(settings, configFile: configFile, configureServices: s => s.AddSingleton(log));
            await WaitForAsync(page, "demo.toasts.filter(t => t.startsWith('While you were away')).join('|')", "While you were away: missed 1|While you were away: missed 2");
            await WaitForAsync(page, "document.getElementById('badge-state').textContent", "open");

            using var resume = JsonDocument.Parse((await page.EvalAsync("JSON.stringify({ reconnects: demo.reconnects, resumes: demo.resumes, gaps: demo.gaps, received: demo.received })")).GetString()!);
            var root = resume.RootElement;
            Assert.Equal(1, root.GetProperty("reconnects").GetInt32());
            Assert.Equal(0, root.GetProperty("gaps").GetArrayLength());
            var resumed = root.GetProperty("resumes")[0];
            Assert.Equal(before, resumed.GetProperty("before").GetString());
            var received = root.GetProperty("received").EnumerateArray().Select(e => (Data: e.GetProperty("data").GetString()!, Id: e.GetProperty("id").GetString()!)).ToList();

            // Exactly: the first event after the reconnect is the first one missed, then the second, and nothing came twice.
            Assert.Equal(received[receivedBefore].Id, resumed.GetProperty("after").GetString());
            Assert.True(Offset(resumed.GetProperty("after").GetString()!) > Offset(before));
            Assert.Equal(receivedBefore + 2, received.Count);
            Assert.Equal(received.Count, received.Select(r => r.Id).Distinct().Count());
            Assert.Contains("missed 1", received[receivedBefore].Data, StringComparison.Ordinal);
            Assert.Contains("missed 2", received[receivedBefore + 1].Data, StringComparison.Ordinal);
            Assert.Equal($"resumed after {before}, next {resumed.GetProperty("after").GetString()}", (await page.EvalAsync("document.getElementById('badge-resume').textContent")).GetString());

            // After the resume: what the README's screenshot shows.
            Assert.Equal(0, await Publisher.Samples.PublisherCli.RunAsync(["http", "orders", "--url", second.BaseAddress.ToString(), "--rate", "0"]).WaitAsync(WaitLimit));
            await WaitForAsync(page, "demo.toasts.filter(t => t === 'Order Completed: Your order #12345 has been shipped').length === 2 ? 'yes' : ''", "yes");
            await page.ScreenshotAsync(Path.Combine(artifacts, "demo-resumed.png"));
            Assert.True(new FileInfo(Path.Combine(artifacts, "demo-resumed.png")).Length > 10_000);
        }
        finally
        {
            if (page is not null)
            {
                await page.DisposeAsync();
            }

            await edge.DisposeAsync();
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }
    }

    /// <summary>The offset in a single-partition cursor (<c>epoch-offset</c>).</summary>
    private static long Offset(string cursor) => long.Parse(cursor[(cursor.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Polls a string expression of the page until it contains <paramref name="expected"/> (or is non-empty when null); returns its value.</summary>
    private static async Task<string> WaitForAsync(BrowserPage page, string expression, string? expected)
    {
        var value = string.Empty;
        await WaitAsync(page, $"{expression} to contain '{expected}'", async () =>
        {
            value = (await page.EvalAsync(expression)).GetString() ?? string.Empty;
            return expected is null ? value.Length > 0 : value.Contains(expected, StringComparison.Ordinal);
        });
        return value;
    }

    private static async Task WaitAsync(BrowserPage page, string what, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {WaitLimit.TotalSeconds} s waiting for {what}\nbrowser said:\n{page.Talk}");
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
