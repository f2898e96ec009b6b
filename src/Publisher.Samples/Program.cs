// Publishers a user copies from. Run one with:
//   dotnet run --project src/Publisher.Samples -- rabbitmq [uri] [stream|exchange:name] [count]
// Each sample lives in its own file; this file only dispatches on the first argument.
using Publisher.Samples;

return args.Length > 0 && args[0].Equals("rabbitmq", StringComparison.OrdinalIgnoreCase)
    ? await RabbitMqPublisher.RunAsync(args[1..])
    : Usage();

static int Usage()
{
    Console.Error.WriteLine("usage: Publisher.Samples rabbitmq [uri] [stream|exchange:name] [count]");
    return 2;
}
