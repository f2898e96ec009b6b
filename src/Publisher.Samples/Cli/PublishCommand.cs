using Publisher.Samples.Publishers;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Publisher.Samples.Cli;

/// <summary>Runs the scenario against the publisher a target creates; exit code 0 when every step was stored, 1 otherwise.</summary>
public abstract class PublishCommand<TSettings> : AsyncCommand<TSettings>
    where TSettings : PublishSettings
{
    protected abstract string Describe(TSettings settings);

    protected abstract Task<IEnvelopePublisher> ConnectAsync(TSettings settings, CancellationToken cancellationToken);

    public override async Task<int> ExecuteAsync(CommandContext context, TSettings settings, CancellationToken cancellationToken)
    {
        var scenario = settings.FindScenario()!;
        try
        {
            await using var publisher = await ConnectAsync(settings, cancellationToken);
            var run = new PublishRun(publisher, scenario, settings.ToContext(scenario), settings.StepCount(scenario), settings.Rate ?? scenario.DefaultRate, settings.Duration);
            var result = await run.RunAsync(AnsiConsole.Console, cancellationToken);
            AnsiConsole.MarkupLineInterpolated($"[green]published[/] {result.Events} event(s) in {result.Steps} step(s) of [bold]{scenario.Name}[/] to {Describe(settings)} in {result.Elapsed.TotalSeconds:0.0} s");
            return 0;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]publish failed[/] ({Describe(settings)}): {ex.Message}");
            return 1;
        }
    }
}
