using Edge.Sse;
namespace Edge.Hub;

/// <summary>What a resuming connection gets before going live; <paramref name="FromBroker"/> of the events were read back from the broker, the rest came from memory.</summary>
internal sealed record ReplayPlan(List<PreparedEvent> Events, string? GapReason, int FromBroker = 0);
