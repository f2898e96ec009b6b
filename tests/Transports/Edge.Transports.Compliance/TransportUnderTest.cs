namespace Edge.Transports.Compliance;

/// <summary>
/// A transport opened to a real client over a real connection, and that client. The client reads
/// only while a <see cref="ReadBodyAsync"/> runs: between reads it is stalled, and what the
/// server sends piles up in its socket buffers until the server's sends wait.
/// </summary>
public abstract class TransportUnderTest : IAsyncDisposable
{
    /// <summary>The server's side of the stream.</summary>
    public abstract IConnectionTransport Transport { get; }

    /// <summary>
    /// Reads what the client has received of the response body, and only the body (a response
    /// head is skipped, chunked framing decoded): up to <paramref name="buffer"/>'s length, at
    /// least one byte, or 0 at the end of the body.
    /// </summary>
    public abstract ValueTask<int> ReadBodyAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>The client closes its connection: with a reset when <paramref name="abortive"/>, otherwise as a browser closing a tab does.</summary>
    public abstract Task DisconnectAsync(bool abortive);

    /// <summary>The server ends the response the way the host ends a stream that is over.</summary>
    public abstract Task EndResponseAsync();

    /// <summary>Disconnects the client (if it still is connected) and ends the response, whatever state the test left them in.</summary>
    public abstract ValueTask DisposeAsync();
}
