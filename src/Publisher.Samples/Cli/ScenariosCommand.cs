using Publisher.Samples.Scenarios;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Publisher.Samples.Cli;

/// <summary>Lists the scenarios with their default count and rate.</summary>
public sealed class ScenariosCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellationToken)
    {
        var table = new Table().AddColumns("scenario", "steps", "steps/s", "what");
        foreach (var scenario in SeedScenarios.All)
        {
            table.AddRow(scenario.Name, scenario.DefaultCount.ToString(System.Globalization.CultureInfo.InvariantCulture), scenario.DefaultRate.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(scenario.Description));
        }

        AnsiConsole.Write(table);
        return 0;
    }
}
