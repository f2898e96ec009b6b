using System.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Edge.Tests.Deployment;

/// <summary>The repository's deployment files, read as plain trees (maps, lists, strings) with YAML merge keys resolved.</summary>
internal static class DeploymentFiles
{
    public static string Root { get; } = Path.GetDirectoryName(Configuration.ConfigFileTests.ConfigDirectory)!;

    public static IEnumerable<string> YamlFiles() =>
        new[] { Path.Combine(Root, "docker-compose.yml") }.Concat(Directory.GetFiles(Path.Combine(Root, "deploy"), "*.yaml", SearchOption.AllDirectories)).Order();

    public static Dictionary<object, object> Load(string relativePath)
    {
        using var reader = new StringReader(File.ReadAllText(Path.Combine(Root, relativePath)));
        return (Dictionary<object, object>)new DeserializerBuilder().Build().Deserialize<object>(new MergingParser(new Parser(reader)))!;
    }

    public static Dictionary<object, object> Map(this object node, string key) => (Dictionary<object, object>)((Dictionary<object, object>)node)[key];

    public static List<object> List(this object node, string key) => ((Dictionary<object, object>)node).TryGetValue(key, out var value) ? (List<object>)value : [];

    public static string Text(this object node, string key) => (string)((Dictionary<object, object>)node)[key];

    public static bool Has(this object node, string key) => ((Dictionary<object, object>)node).ContainsKey(key);

    /// <summary>A compose client that works without an engine (<c>docker compose</c>, else Debian's <c>docker-compose</c>), or null.</summary>
    public static string[]? ComposeClient()
    {
        foreach (var candidate in new[] { new[] { "docker", "compose" }, new[] { "docker-compose" } })
        {
            try
            {
                var (exit, _) = Run(candidate[0], [.. candidate[1..], "version"]);
                if (exit == 0)
                {
                    return candidate;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed
            }
        }

        return null;
    }

    public static (int Exit, string Output) Run(string file, string[] args)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
