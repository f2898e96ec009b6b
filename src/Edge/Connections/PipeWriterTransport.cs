using System.IO.Pipelines;
using Edge.Transports;

namespace Edge.Connections;

/// <summary>A stream's bytes through Kestrel's response pipe (HTTP/1.1 chunked, HTTP/2, TLS alike): sent only by flushing.</summary>
/// <remarks>
/// Kestrel's response writer ends a flush that waits on the client with an ordinary result both
/// when <see cref="CancelPendingFlush"/> is called and when the connection is aborted under it
/// (neither <see cref="FlushResult.IsCanceled"/> nor <see cref="FlushResult.IsCompleted"/> is
/// set), so a cancellation is recognised by its own flag, and after a flush that had to wait, an
/// empty flush asks whether the response is still writable (it reports an aborted one completed).
/// </remarks>
internal sealed class PipeWriterTransport : IConnectionTransport
{
    private int _cancelRequested;

    public PipeWriterTransport(PipeWriter output)
    {
        Output = output;
    }

    public PipeWriter Output { get; }

    public bool CanSendInline => false;

    public bool TrySend() => false;

    public ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
    {
        var flush = Output.FlushAsync(cancellationToken);
        return flush.IsCompletedSuccessfully ? new ValueTask<bool>(Sent(flush.Result)) : WaitedAsync(flush, cancellationToken);
    }

    public void CancelPendingFlush()
    {
        Volatile.Write(ref _cancelRequested, 1);
        Output.CancelPendingFlush();
    }

    private async ValueTask<bool> WaitedAsync(ValueTask<FlushResult> flush, CancellationToken cancellationToken)
    {
        if (!Sent(await flush.ConfigureAwait(false)))
        {
            return false;
        }

        return Sent(await Output.FlushAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Whether a flush that ended with <paramref name="result"/> sent what was written; consumes a pending cancellation.</summary>
    private bool Sent(FlushResult result) =>
        (Interlocked.Exchange(ref _cancelRequested, 0) == 0) & !result.IsCanceled & !result.IsCompleted;
}
