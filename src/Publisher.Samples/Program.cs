// Publishers a user copies from. Run one with:
//   dotnet run --project src/Publisher.Samples -- http [edge-url] [key] [channel] [count]
//   dotnet run --project src/Publisher.Samples -- rabbitmq [uri] [stream|exchange:name] [count]
// Each sample lives in its own file; this file only dispatches on the first argument.
using Publisher.Samples;

return (args.Length > 0 ? args[0].ToLowerInvariant() : string.Empty) switch
{
    "http" => await HttpPublisher.RunAsync(args[1..]),
    "rabbitmq" => await RabbitMqPublisher.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Publisher.Samples http [edge-url] [key] [channel] [count]");
    Console.Error.WriteLine("       Publisher.Samples rabbitmq [uri] [stream|exchange:name] [count]");
    return 2;
}
