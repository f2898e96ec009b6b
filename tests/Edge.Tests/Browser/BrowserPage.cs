using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Xunit;

namespace Edge.Tests.Browser;

/// <summary>
/// A page in headless Chromium, driven through eventsource-control.mjs (eval, click, fill,
/// screenshot); it keeps what the script said for diagnostics.
/// </summary>
internal sealed class BrowserPage : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _answers = Channel.CreateUnbounded<string>();
    private readonly ConcurrentQueue<string> _talk = new();

    private BrowserPage(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _answers.Writer.TryComplete();
            }
            else if (e.Data.StartsWith('{'))
            {
                _answers.Writer.TryWrite(e.Data);
            }
            else
            {
                _talk.Enqueue(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _talk.Enqueue("stderr: " + e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>What the script said besides its answers: console messages, failed requests.</summary>
    public string Talk => string.Join('\n', _talk);

    public static async Task<BrowserPage> OpenAsync(string url)
    {
        var folder = FindBrowserFolder();
        var start = new ProcessStartInfo("node", [Path.Combine(folder, "eventsource-control.mjs"), url, "120000"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        var page = new BrowserPage(Process.Start(start) ?? throw new InvalidOperationException("node did not start"));
        try
        {
            var loaded = await page.ReadAnswerAsync();
            Assert.True(loaded.TryGetProperty("loaded", out _), $"the page did not load: {loaded}\n{page.Talk}");
            return page;
        }
        catch
        {
            await page.DisposeAsync();
            throw;
        }
    }

    public Task<JsonElement> EvalAsync(string expression) => SendAsync("eval " + expression.ReplaceLineEndings(" "));

    public Task ClickAsync(string selector) => SendAsync("click " + selector);

    public Task FillAsync(string selector, string text) => SendAsync($"fill {selector}\t{text}");

    public Task ScreenshotAsync(string path) => SendAsync("screenshot " + path);

    private async Task<JsonElement> SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        var answer = await ReadAnswerAsync();
        Assert.True(answer.TryGetProperty("value", out var value), $"{command.Split(' ')[0]} failed: {answer}\n{Talk}");
        return value;
    }

    private async Task<JsonElement> ReadAnswerAsync()
    {
        try
        {
            var line = await _answers.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            using var document = JsonDocument.Parse(line);
            return document.RootElement.Clone();
        }
        catch (Exception e) when (e is TimeoutException or ChannelClosedException)
        {
            throw new InvalidOperationException($"the browser script gave no answer ({(_process.HasExited ? $"exited {_process.ExitCode}" : "still running")}):\n{Talk}", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("quit");
                _process.StandardInput.Close();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
        }
        finally
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }

    /// <summary>tests/Edge.Tests/Browser, with node_modules installed by scripts/browser.sh.</summary>
    public static string FindBrowserFolder()
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
}
