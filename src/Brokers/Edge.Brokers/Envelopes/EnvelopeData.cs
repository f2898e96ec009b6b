namespace Edge.Brokers.Envelopes;

/// <summary>
/// An event's payload. A JSON string is kept as text and sent verbatim (one <c>data:</c> line
/// per line of text); any other JSON value is kept as compact JSON (a single line).
/// </summary>
public sealed record EnvelopeData(string Text, bool IsJson)
{
    public static EnvelopeData Empty { get; } = new(string.Empty, false);

    public static EnvelopeData FromText(string text) => new(text, false);

    public static EnvelopeData FromJson(string compactJson) => new(compactJson, true);
}
