using System.IO.Pipelines;
using Edge.Transports;

namespace Edge.Connections;

/// <summary>A stream's bytes through Kestrel's response pipe (HTTP/1.1 chunked, HTTP/2, TLS alike): sent only by flushing.</summary>
internal sealed class PipeWriterTransport : IConnectionTransport
{
    public PipeWriterTransport(PipeWriter output)
    {
        Output = output;
    }

    public PipeWriter Output { get; }

    public bool CanSendInline => false;

    public bool TrySend() => false;

    public async ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
    {
        var result = await Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return !result.IsCanceled && !result.IsCompleted;
    }

    public void CancelPendingFlush() => Output.CancelPendingFlush();
}
