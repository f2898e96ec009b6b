using System.Globalization;
using System.Runtime.InteropServices;

namespace Edge.Bench;

/// <summary>RSS and CPU time of process trees, read from /proc.</summary>
internal static partial class ProcStats
{
    private static readonly long TicksPerSecond = ReadClockTicks();

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    private static long ReadClockTicks()
    {
        try
        {
            var t = SysConf(2); // _SC_CLK_TCK
            return t > 0 ? t : 100;
        }
        catch (DllNotFoundException)
        {
            return 100;
        }
        catch (EntryPointNotFoundException)
        {
            return 100;
        }
    }

    /// <summary>The roots and all their descendants that are alive now.</summary>
    public static List<int> Tree(IReadOnlyList<int> roots)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var stat = ReadStat(pid);
            if (stat is not null)
            {
                parents[pid] = int.Parse(stat[1], CultureInfo.InvariantCulture);
            }
        }

        var result = new List<int>();
        var set = new HashSet<int>();
        foreach (var r in roots)
        {
            if (parents.ContainsKey(r) && set.Add(r))
            {
                result.Add(r);
            }
        }

        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var (pid, ppid) in parents)
            {
                if (set.Contains(ppid) && set.Add(pid))
                {
                    result.Add(pid);
                    changed = true;
                }
            }
        }

        return result;
    }

    /// <summary>Fields of /proc/PID/stat after the command name: [0]=state, [1]=ppid, ... utime at [11], stime at [12].</summary>
    private static string[]? ReadStat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var close = text.LastIndexOf(')');
            return text[(close + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static long RssBytes(IReadOnlyList<int> roots)
    {
        long sum = 0;
        foreach (var pid in Tree(roots))
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                        sum += long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                        break;
                    }
                }
            }
            catch (IOException)
            {
            }
        }

        return sum;
    }

    public static double CpuSeconds(IReadOnlyList<int> roots)
    {
        long ticks = 0;
        foreach (var pid in Tree(roots))
        {
            var f = ReadStat(pid);
            if (f is not null)
            {
                ticks += long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
            }
        }

        return (double)ticks / TicksPerSecond;
    }

    public static int Threads(IReadOnlyList<int> roots) => Tree(roots).Count;

    /// <summary>Threads of one process (/proc/PID/task); 0 when it is gone.</summary>
    public static int ThreadCount(int pid) => Count($"/proc/{pid}/task");

    /// <summary>Open file descriptors of one process (/proc/PID/fd); 0 when it is gone.</summary>
    public static int OpenFiles(int pid) => Count($"/proc/{pid}/fd");

    private static int Count(string dir)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(dir).Count();
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
