using System.ComponentModel;
using Publisher.Samples.Scenarios;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Publisher.Samples.Cli;

/// <summary>What every target takes: the scenario, whom it targets, and how fast and how long it runs.</summary>
public class PublishSettings : CommandSettings
{
    [CommandArgument(0, "[scenario]")]
    [Description("orders (default), notification, sync, document-lock, pdf, i18n-debug, chat, task-progress; `scenarios` lists them")]
    public string Scenario { get; init; } = "orders";

    [CommandOption("-c|--channel <CHANNEL>")]
    [Description("channel to publish to (default: the scenario's; session scenarios: the session's own channel)")]
    public string? Channel { get; init; }

    [CommandOption("-u|--user <USER>")]
    [Description("only this user's connections receive the events (envelope userId)")]
    public string? User { get; init; }

    [CommandOption("-s|--session <SESSION>")]
    [Description("target session(s), repeatable (envelope sessionId)")]
    public string[] Sessions { get; init; } = [];

    [CommandOption("-r|--rate <STEPS_PER_SECOND>")]
    [Description("steps per second; 0 = as fast as the target confirms (default: the scenario's)")]
    public double? Rate { get; init; }

    [CommandOption("-n|--count <STEPS>")]
    [Description("steps to publish (default: the scenario's, or unbounded with --duration)")]
    public int? Count { get; init; }

    [CommandOption("-d|--duration <SECONDS>")]
    [Description("stop after this many seconds")]
    public double? Duration { get; init; }

    public Scenario? FindScenario() => SeedScenarios.Find(Scenario);

    public override ValidationResult Validate()
    {
        if (FindScenario() is not { } scenario)
        {
            return ValidationResult.Error($"unknown scenario '{Scenario}'; known: {string.Join(", ", SeedScenarios.All.Select(s => s.Name))}");
        }

        if (Rate is < 0 || Rate is double.NaN)
        {
            return ValidationResult.Error("--rate must be 0 or more");
        }

        if (Count is < 1)
        {
            return ValidationResult.Error("--count must be at least 1");
        }

        if (Duration is <= 0 or double.NaN)
        {
            return ValidationResult.Error("--duration must be more than 0 seconds");
        }

        return scenario.Check(ToContext(scenario)) is { } problem
            ? ValidationResult.Error($"scenario {scenario.Name} {problem}")
            : ValidationResult.Success();
    }

    /// <summary>The steps to run: --count, else unbounded when --duration bounds the run, else the scenario's.</summary>
    public int StepCount(Scenario scenario) => Count ?? (Duration is null ? scenario.DefaultCount : int.MaxValue);

    public ScenarioContext ToContext(Scenario scenario) => new(Channel, User, Sessions, Count ?? scenario.DefaultCount);
}
