using System.Diagnostics;
using Publisher.Samples.Publishers;
using Publisher.Samples.Scenarios;
using Spectre.Console;

namespace Publisher.Samples.Cli;

/// <summary>Publishes a scenario's steps at a rate, for a count or a duration, with a progress bar on long runs.</summary>
public sealed class PublishRun(IEnvelopePublisher publisher, Scenario scenario, ScenarioContext context, int steps, double rate, double? durationSeconds)
{
    /// <summary>Runs expected to take longer than this get a progress bar (on an interactive terminal).</summary>
    private static readonly TimeSpan LongRun = TimeSpan.FromSeconds(2);

    public async Task<PublishResult> RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var expected = durationSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : rate > 0 ? TimeSpan.FromSeconds(steps / rate) : TimeSpan.Zero;
        if (expected < LongRun || !console.Profile.Capabilities.Interactive)
        {
            return await PublishAsync(progress: null, cancellationToken);
        }

        return await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(scenario.Name, maxValue: durationSeconds ?? steps);
                return await PublishAsync(task, cancellationToken);
            });
    }

    private async Task<PublishResult> PublishAsync(ProgressTask? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var deadline = durationSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
        var events = 0;
        var step = 0;
        for (; step < steps && clock.Elapsed < deadline; step++)
        {
            if (rate > 0)
            {
                // Step n is due at n / rate seconds after the start, however long publishing took;
                // a step due at or after the end of the run is not published.
                var dueAt = TimeSpan.FromSeconds(step / rate);
                if (dueAt >= deadline)
                {
                    break;
                }

                if (dueAt > clock.Elapsed)
                {
                    await Task.Delay(dueAt - clock.Elapsed, cancellationToken);
                }
            }

            var batch = scenario.Step(context, step);
            await publisher.PublishAsync(batch, cancellationToken);
            events += batch.Count;
            progress?.Value(durationSeconds is null ? step + 1 : Math.Min(clock.Elapsed.TotalSeconds, durationSeconds.Value));
        }

        progress?.Value(progress.MaxValue);
        return new PublishResult(step, events, clock.Elapsed);
    }
}

public sealed record PublishResult(int Steps, int Events, TimeSpan Elapsed);
