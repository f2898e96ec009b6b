using Edge.Sse;
namespace Edge.Hub;

/// <summary>What a resuming connection gets before going live.</summary>
internal sealed record ReplayPlan(List<PreparedEvent> Events, string? GapReason);
