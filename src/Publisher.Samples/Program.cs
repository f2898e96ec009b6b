// Publishers a user copies from (Publishers/), driven by one CLI:
//   dotnet run --project src/Publisher.Samples -- http orders
//   dotnet run --project src/Publisher.Samples -- rabbitmq sync --session abc123 --uri amqp://guest:guest@localhost:5672/
//   dotnet run --project src/Publisher.Samples -- kafka chat --bootstrap localhost:9092 --rate 10 --duration 30
//   dotnet run --project src/Publisher.Samples -- scenarios
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return await Publisher.Samples.PublisherCli.RunAsync(args, stop.Token);
