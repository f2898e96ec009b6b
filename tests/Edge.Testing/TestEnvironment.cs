using System.Runtime.CompilerServices;

namespace Edge.Testing;

internal static class TestEnvironment
{
    /// <summary>
    /// Many edge hosts start in parallel, each watching its configuration file; inotify instances
    /// are capped per user (128 here, shared with every other process of the user). Polling
    /// watchers need none; the reload tests wait long enough for a poll.
    /// </summary>
#pragma warning disable CA2255 // A test assembly sets its process environment once, before any host starts.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void UsePollingFileWatchers() => Environment.SetEnvironmentVariable("DOTNET_USE_POLLING_FILE_WATCHER", "1");
}
