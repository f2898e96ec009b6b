namespace Edge.Testing;

/// <summary>One block of an event stream (up to a blank line), as a client parsing it by the spec sees it.</summary>
public sealed record SseFrame(string? Event, string? Data, string? Id, int? Retry, IReadOnlyList<string> Comments, string Raw)
{
    /// <summary>True when the block dispatches an event (it had at least one data line).</summary>
    public bool IsEvent => Data is not null;

    /// <summary>The event type a browser would dispatch.</summary>
    public string Type => string.IsNullOrEmpty(Event) ? "message" : Event;
}
