using Edge.Hosting;
using Microsoft.Extensions.Options;

try
{
    var app = EdgeApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (EdgeConfigurationException ex)
{
    Console.Error.WriteLine($"Edge cannot start: {ex.Message}");
    return 2;
}
catch (OptionsValidationException ex)
{
    Console.Error.WriteLine("Edge cannot start, the configuration is invalid:");
    foreach (var failure in ex.Failures)
    {
        Console.Error.WriteLine("  " + failure);
    }

    return 2;
}
catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
{
    Console.Error.WriteLine("Edge cannot start, the configuration is invalid:");
    foreach (var failure in ex.InnerExceptions.Cast<OptionsValidationException>().SelectMany(e => e.Failures))
    {
        Console.Error.WriteLine("  " + failure);
    }

    return 2;
}
