using System.Globalization;

namespace Edge.Bench;

/// <summary>Command-line options: <c>--name value</c>, <c>--name=value</c> or a bare <c>--flag</c>.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public string Mode { get; }

    public IReadOnlyList<string> Raw { get; }

    public Options(string[] args)
    {
        Raw = args;
        if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException("the first argument is the mode: hold, fanout, storm, proxy (or child)");
        }

        Mode = args[0];
        for (var i = 1; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{a}'");
            }

            var eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                _values[a[2..eq]] = a[(eq + 1)..];
            }
            else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                _values[a[2..]] = args[++i];
            }
            else
            {
                _values[a[2..]] = "true";
            }
        }
    }

    public string Str(string name, string fallback)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) ? v : fallback;
    }

    public string? StrOrNull(string name)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) ? v : null;
    }

    public int Int(string name, int fallback) => int.Parse(Str(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public double Dbl(string name, double fallback) => double.Parse(Str(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public bool Flag(string name) => Str(name, "false") is "true" or "1" or "yes";

    public IReadOnlyList<double> Doubles(string name, string fallback) =>
        Str(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    public IReadOnlyList<int> Pids(string name)
    {
        var s = StrOrNull(name);
        if (string.IsNullOrWhiteSpace(s))
        {
            return [];
        }

        return s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => File.Exists(p) ? File.ReadAllText(p).Trim() : p)
            .Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Names given on the command line that no mode asked for (typos).</summary>
    public IEnumerable<string> Unused() => _values.Keys.Where(k => !_used.Contains(k));
}
