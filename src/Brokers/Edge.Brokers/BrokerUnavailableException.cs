namespace Edge.Brokers;

/// <summary>
/// The broker could not accept or serve a request now; the caller should answer
/// <c>503</c> with <c>Retry-After</c> rather than pretend success.
/// </summary>
public sealed class BrokerUnavailableException : Exception
{
    public BrokerUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>A suggestion for the client's Retry-After, when the broker knows better than the default.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
