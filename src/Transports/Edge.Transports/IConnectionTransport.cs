using System.IO.Pipelines;

namespace Edge.Transports;

/// <summary>
/// How the core sends one stream's bytes to its client, whatever carries them: Kestrel's
/// response pipe (the host's PipeWriterTransport) or a socket the stream owns (the socket
/// fast path). The core writes frames to <see cref="Output"/>, then either asks for one
/// non-blocking send (<see cref="TrySend"/>, where <see cref="CanSendInline"/>) or flushes; a
/// stream is closed by ending its response, which its transport turns into the end of the connection.
/// </summary>
public interface IConnectionTransport
{
    /// <summary>Where frames are written; nothing is sent before <see cref="TrySend"/> or <see cref="FlushAsync"/>.</summary>
    PipeWriter Output { get; }

    /// <summary>Whether <see cref="TrySend"/> can send without waiting; otherwise only <see cref="FlushAsync"/> sends.</summary>
    bool CanSendInline { get; }

    /// <summary>
    /// Sends what is written with one non-blocking send: true when all of it went out; false leaves
    /// the rest for the next flush. Throws <see cref="IOException"/> when the client is gone.
    /// </summary>
    bool TrySend();

    /// <summary>
    /// Sends everything written, waiting for a client that is behind. False when the client is gone
    /// or the flush was cancelled by <see cref="CancelPendingFlush"/>; may throw <see cref="IOException"/> instead.
    /// </summary>
    ValueTask<bool> FlushAsync(CancellationToken cancellationToken);

    /// <summary>Makes a flush waiting on a client that does not read return false at once (a slow consumer is closed).</summary>
    void CancelPendingFlush();
}
