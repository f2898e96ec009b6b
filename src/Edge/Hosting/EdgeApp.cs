using Edge.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;

namespace Edge.Hosting;

/// <summary>
/// Builds the edge host: <c>config/edge.json</c> (or <c>--config PATH</c>) under environment
/// variables and command-line arguments, Kestrel on <c>Edge:Urls</c>, and the edge pipeline.
/// </summary>
public static class EdgeApp
{
    public const string DefaultConfigPath = "config/edge.json";

    private const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <param name="args">Command-line arguments; <c>--config PATH</c> picks the configuration file.</param>
    /// <param name="configureConfiguration">Adds sources above all others (tests use it), before services are added.</param>
    /// <param name="configure">Changes services and logging after the edge's own registrations.</param>
    public static WebApplication Build(string[] args, Action<IConfigurationBuilder>? configureConfiguration = null, Action<WebApplicationBuilder>? configure = null)
    {
        var (configPath, explicitPath, rest) = ReadConfigArgument(args);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = rest });
        AddConfigFile(builder.Configuration, configPath, explicitPath);
        configureConfiguration?.Invoke(builder.Configuration);

        // ASP.NET Core creates an Activity and a log scope for every request while this category
        // is enabled at any level; that costs a large part of the proxy's throughput and memory
        // on every open stream. Its only events are per-request Information lines, so it is off
        // unless the configuration names it.
        if (builder.Configuration[$"Logging:LogLevel:{HostingDiagnosticsCategory}"] is null)
        {
            builder.Logging.AddFilter(HostingDiagnosticsCategory, LogLevel.None);
        }

        // Logging:Console:FormatterName=json switches the console to one JSON object per line
        // (event id, level, category, message and each named value under State); these are its
        // defaults unless the configuration sets them.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.JsonConsoleFormatterOptions>(json =>
        {
            var options = builder.Configuration.GetSection("Logging:Console:FormatterOptions");
            if (options["TimestampFormat"] is null)
            {
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                json.UseUtcTimestamp = true;
            }
        });
        builder.Services.AddEdge(builder.Configuration);
        configure?.Invoke(builder);

        // Edge:Urls (http, https with Edge:Tls) are bound by Tls.EdgeKestrelSetup; Kestrel:Endpoints,
        // when configured, replace them, and Kestrel's warning names what they replace.
        if (Tls.TlsOptionsValidator.KestrelEndpointsConfigured(builder.Configuration))
        {
            var urls = builder.Configuration[$"{EdgeOptions.SectionName}:Urls"] ?? new EdgeOptions().Urls;
            builder.WebHost.UseUrls(urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        var app = builder.Build();
        app.MapEdge();
        return app;
    }

    private static (string? Path, bool Explicit, string[] Remaining) ReadConfigArgument(string[] args)
    {
        var rest = new List<string>(args.Length);
        string? path = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config")
            {
                if (i + 1 >= args.Length)
                {
                    throw new EdgeConfigurationException("--config needs a file path, e.g. --config config/edge.json.");
                }

                path = args[++i];
            }
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                path = args[i]["--config=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        if (path is not null)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full))
            {
                throw new EdgeConfigurationException($"The configuration file '{full}' given by --config does not exist.");
            }

            return (full, true, rest.ToArray());
        }

        return (FindDefaultConfig(), false, rest.ToArray());
    }

    private static string? FindDefaultConfig()
    {
        var fromCurrent = Path.GetFullPath(DefaultConfigPath);
        if (File.Exists(fromCurrent))
        {
            return fromCurrent;
        }

        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        for (var depth = 0; directory is not null && depth < 8; depth++, directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, DefaultConfigPath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Inserts the JSON file below environment variables and the command line.</summary>
    private static void AddConfigFile(ConfigurationManager configuration, string? path, bool required)
    {
        if (path is null)
        {
            return;
        }

        var source = new JsonConfigurationSource
        {
            FileProvider = new PhysicalFileProvider(Path.GetDirectoryName(path)!),
            Path = Path.GetFileName(path),
            Optional = !required,
            ReloadOnChange = true,
        };
        IConfigurationBuilder builder = configuration;
        var sources = builder.Sources;
        var index = sources.Count;
        for (var i = sources.Count - 1; i >= 0; i--)
        {
            if (sources[i] is EnvironmentVariablesConfigurationSource { Prefix: null or "" })
            {
                index = i;
                break;
            }
        }

        sources.Insert(index, source);
    }
}

/// <summary>A configuration problem found before the host could be built.</summary>
public sealed class EdgeConfigurationException : Exception
{
    public EdgeConfigurationException(string message)
        : base(message)
    {
    }
}
