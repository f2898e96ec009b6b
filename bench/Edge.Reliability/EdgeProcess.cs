using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Edge.Reliability;

/// <summary>
/// One edge process (the Release build of src/Edge) on 127.0.0.1:<see cref="Port"/>, started with
/// the benchmark configuration plus <c>--Edge:...</c> arguments, its output in a log file.
/// </summary>
internal sealed partial class EdgeProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly Process _process;
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) }) { Timeout = TimeSpan.FromSeconds(3) };

    private EdgeProcess(string name, int port, Process process, string log)
    {
        Name = name;
        Port = port;
        _process = process;
        LogPath = log;
    }

    public string Name { get; }

    public int Port { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public Uri BaseUri => new($"http://127.0.0.1:{Port}");

    public static EdgeProcess Start(RunContext run, string name, int port, IEnumerable<string> extraArgs)
    {
        var log = Path.Combine(run.WorkDir, $"{name}.log");
        var psi = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
            RedirectStandardInput = false,
        };
        psi.ArgumentList.Add(run.EdgeDll);
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(run.EdgeConfig);
        psi.ArgumentList.Add($"--Edge:Urls=http://127.0.0.1:{port}");
        foreach (var a in extraArgs)
        {
            psi.ArgumentList.Add(a);
        }

        // The edge writes its console log to the file; stdout of this tool stays the table.
        var sh = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        sh.ArgumentList.Add("-c");
        sh.ArgumentList.Add("exec \"$@\" >>\"$EDGE_LOG\" 2>&1 </dev/null");
        sh.ArgumentList.Add("sh");
        sh.ArgumentList.Add(psi.FileName);
        foreach (var a in psi.ArgumentList)
        {
            sh.ArgumentList.Add(a);
        }

        sh.Environment["EDGE_LOG"] = log;
        var p = Process.Start(sh) ?? throw new InvalidOperationException("could not start dotnet");
        return new EdgeProcess(name, port, p, log);
    }

    /// <summary>Waits until <c>/_edge/ready</c> answers 200; false after <paramref name="limit"/> or when the process exits.</summary>
    public async Task<bool> WaitReadyAsync(TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < limit)
        {
            if (_process.HasExited)
            {
                return false;
            }

            if (await IsReadyAsync().ConfigureAwait(false) == true)
            {
                return true;
            }

            await Task.Delay(200).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>True/false from <c>/_edge/ready</c>; null when the edge does not answer.</summary>
    public async Task<bool?> IsReadyAsync()
    {
        try
        {
            using var resp = await Http.GetAsync(new Uri(BaseUri, "/_edge/ready")).ConfigureAwait(false);
            return resp.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The JSON of <c>/_edge/metrics.json</c>; null when the edge does not answer.</summary>
    public async Task<JsonElement?> MetricsAsync()
    {
        try
        {
            var text = await Http.GetStringAsync(new Uri(BaseUri, "/_edge/metrics.json")).ConfigureAwait(false);
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
    }

    /// <summary>SIGTERM: the edge drains (see README "Shutdown").</summary>
    public void Terminate()
    {
        if (!_process.HasExited)
        {
            _ = SysKill(_process.Id, SigTerm);
        }
    }

    public async Task<bool> WaitExitAsync(TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Terminate();
            if (!await WaitExitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false))
            {
                Kill();
                await WaitExitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SysKill(int pid, int signal);
}
