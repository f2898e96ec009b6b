using Edge.Bench;

// Run socket continuations on the epoll thread instead of queueing each to the thread pool: the
// per-read work here is tiny and never blocks, and this halves the tool's CPU per delivery (which
// competes with the server on the same cores). Read once, before the first socket exists; an
// explicit DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 turns it off. Children inherit it.
Environment.SetEnvironmentVariable(
    "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS",
    Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") ?? "1");

// Every TLS stream makes a full handshake (see TlsClient.DisableResumption). Before any SslStream exists.
TlsClient.DisableResumption();

Options o;
try
{
    o = new Options(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    await Console.Error.WriteLineAsync("usage: Edge.Bench hold|fanout|storm|proxy|report [--options]; see bench/README.md");
    return 2;
}

var run = o.Mode switch
{
    "hold" => Modes.HoldAsync(o),
    "fanout" => Modes.FanoutAsync(o),
    "storm" => Modes.StormAsync(o),
    "proxy" => Modes.ProxyAsync(o),
    "child" => RemoteGroup.ChildMainAsync(o),
    "report" => Task.FromResult(Report.Run(o)),
    _ => null,
};
if (run is null)
{
    await Console.Error.WriteLineAsync($"unknown mode '{o.Mode}': hold, fanout, storm, proxy, report");
    return 2;
}

return await run;
