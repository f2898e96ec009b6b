namespace Edge.Brokers.Envelopes;

/// <summary>
/// One event as publishers write it: the publish API's body and the broker message body.
/// <code>
/// { "channel": "orders", "event": "notification", "data": {"message": "Order #12345 shipped"},
///   "userId": "12345", "sessionId": null, "retry": null, "id": null }
/// </code>
/// </summary>
public sealed class EventEnvelope
{
    public const string DefaultEvent = "message";

    /// <summary>The control record that closes every stream of <see cref="UserId"/> or <see cref="SessionId"/> on every instance.</summary>
    public const string EndStreamsControl = "end-streams";

    /// <summary>
    /// The channel the event is published on. When the publisher gave none, the personal
    /// channel of <see cref="UserId"/> (<c>user:{id}</c>) or <see cref="SessionId"/> (<c>session:{id}</c>).
    /// </summary>
    public required string Channel { get; init; }

    /// <summary>The SSE event type; <c>message</c> when absent.</summary>
    public string Event { get; init; } = DefaultEvent;

    /// <summary>The payload: text sent verbatim, or compact JSON.</summary>
    public EnvelopeData Data { get; init; } = EnvelopeData.Empty;

    /// <summary>Only connections of this user receive the event.</summary>
    public string? UserId { get; init; }

    /// <summary>Only connections of this session receive the event.</summary>
    public string? SessionId { get; init; }

    /// <summary>A reconnection delay in milliseconds to send with the event (<c>retry:</c>).</summary>
    public int? Retry { get; init; }

    /// <summary>The publisher's message id, used to drop duplicates of a retried publish.</summary>
    public string? Id { get; init; }

    /// <summary>
    /// Set on a control record instead of an event, read by every instance from the log:
    /// <see cref="EndStreamsControl"/> (<c>{"control":"end-streams","userId":"12345"}</c>) closes every
    /// stream of that user (or of <see cref="SessionId"/>). No stream receives it as an event.
    /// </summary>
    public string? Control { get; init; }

    public static string UserChannel(string userId) => "user:" + userId;

    public static string SessionChannel(string sessionId) => "session:" + sessionId;
}
