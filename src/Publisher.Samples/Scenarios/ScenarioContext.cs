namespace Publisher.Samples.Scenarios;

/// <summary>What a run targets: a channel (or the scenario's own), a user, sessions; and how many steps it has.</summary>
public sealed record ScenarioContext(string? Channel, string? User, IReadOnlyList<string> Sessions, int Count);
