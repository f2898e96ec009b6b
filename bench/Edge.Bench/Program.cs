using Edge.Bench;

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
