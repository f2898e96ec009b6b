// Publishers a user copies from. Run one with:
//   dotnet run --project src/Publisher.Samples -- http [edge-url] [key] [channel] [count]
// Each sample lives in its own file; this file only dispatches on the first argument.
using Publisher.Samples;

return args.Length > 0 && args[0].Equals("http", StringComparison.OrdinalIgnoreCase)
    ? await HttpPublisher.RunAsync(args[1..])
    : Usage();

static int Usage()
{
    Console.Error.WriteLine("usage: Publisher.Samples http [edge-url] [key] [channel] [count]");
    return 2;
}
