namespace Edge.Brokers.Envelopes;

/// <summary>Why an envelope was refused: the field (JSON name) and what is wrong with it.</summary>
public sealed record EnvelopeError(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}
