using System.IO.Pipelines;
using Edge.Transports;

namespace Edge.Transports.Sockets;

/// <summary>
/// A stream's bytes straight to the socket it owns: frames are written through the response's
/// writer (which puts the response head in front of the first ones) and sent with one
/// non-blocking <c>send</c> by <see cref="SocketBodyWriter.TrySend"/>; only a client that is
/// behind makes a flush wait.
/// </summary>
internal sealed class SocketStreamTransport : IConnectionTransport
{
    private readonly SocketBodyWriter _socket;

    /// <param name="output">The response body writer, on top of <paramref name="socket"/>.</param>
    public SocketStreamTransport(PipeWriter output, SocketBodyWriter socket)
    {
        Output = output;
        _socket = socket;
    }

    public PipeWriter Output { get; }

    public bool CanSendInline => true;

    public bool TrySend() => _socket.TrySend();

    public async ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
    {
        var result = await Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return !result.IsCanceled && !result.IsCompleted;
    }

    public void CancelPendingFlush() => Output.CancelPendingFlush();
}
