// YARP and nothing else: the same ReverseProxy section, Kestrel settings, logging filter and GC
// settings as the edge, so the bench's proxy rows show what the edge adds around YARP.
//
//   dotnet Edge.BareYarp.dll --config bench/edge-bench.json --urls http://127.0.0.1:18084
//
// Only the file's Logging and ReverseProxy sections are read; later arguments override them
// (e.g. --ReverseProxy:Clusters:app:Destinations:app1:Address=http://127.0.0.1:18090).
var rest = new List<string>(args.Length);
string? configPath = null;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--config" && i + 1 < args.Length)
    {
        configPath = args[++i];
    }
    else
    {
        rest.Add(args[i]);
    }
}

if (configPath is null || !File.Exists(configPath))
{
    Console.Error.WriteLine("usage: Edge.BareYarp --config FILE.json [--urls http://127.0.0.1:PORT] [--Key=value ...]");
    return 2;
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [.. rest] });

// Below the command line, as in the edge.
builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
{
    FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.GetDirectoryName(Path.GetFullPath(configPath))!),
    Path = Path.GetFileName(configPath),
});

// The edge turns this category off unless configured (see src/Edge/Hosting/EdgeApp.cs); so does the yardstick.
const string hostingDiagnostics = "Microsoft.AspNetCore.Hosting.Diagnostics";
if (builder.Configuration[$"Logging:LogLevel:{hostingDiagnostics}"] is null)
{
    builder.Logging.AddFilter(hostingDiagnostics, LogLevel.None);
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxConcurrentConnections = null;
    kestrel.Limits.MaxConcurrentUpgradedConnections = null;
});
builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));

var app = builder.Build();
app.MapReverseProxy();
await app.RunAsync();
return 0;
