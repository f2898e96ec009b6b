namespace Publisher.Samples.Scenarios;

/// <summary>
/// One use of the seed systems: each step is a batch of envelopes published together (one
/// request, or records sent back to back); a run publishes <c>--count</c> steps at <c>--rate</c>.
/// </summary>
/// <param name="Requires">Why a context cannot run this scenario, or null when it can.</param>
public sealed record Scenario(
    string Name,
    string Description,
    int DefaultCount,
    double DefaultRate,
    Func<ScenarioContext, int, IReadOnlyList<Envelope>> Step,
    Func<ScenarioContext, string?>? Requires = null)
{
    public string? Check(ScenarioContext context) => Requires?.Invoke(context);
}
