using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Edge.Transports.Sockets;

/// <summary>
/// The body writer of a stream that owns its socket. A flush first tries one non-blocking
/// <c>send</c>, which is all it takes while the client keeps up; only a client whose socket
/// buffer is full makes it wait for an asynchronous send. Nothing is held between flushes: the
/// buffer goes back to the pool, and the socket's asynchronous send state is created only for
/// a slow client.
/// </summary>
internal sealed class SocketBodyWriter(Socket socket) : PipeWriter
{
    private const int MinimumBufferSize = 4096;

    private byte[]? _buffer;
    private int _written;
    private volatile bool _cancelRequested;
    private CancellationTokenSource? _pendingSend;

    /// <param name="socket">A connected socket in non-blocking mode.</param>

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written;

    public override void Advance(int bytes)
    {
        if ((uint)bytes > (uint)(_buffer?.Length ?? 0) - (uint)_written)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "Advanced past the end of the buffer.");
        }

        _written += bytes;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        var start = Reserve(sizeHint);
        return _buffer.AsMemory(start);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        var start = Reserve(sizeHint);
        return _buffer.AsSpan(start);
    }

    public override void CancelPendingFlush()
    {
        _cancelRequested = true;
        try
        {
            Volatile.Read(ref _pendingSend)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public override void Complete(Exception? exception = null) => Release();

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_cancelRequested)
        {
            _cancelRequested = false;
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
        }

        return TrySend() ? default : SendRestAsync(cancellationToken);
    }

    /// <summary>
    /// Sends what is buffered with one non-blocking <c>send</c>. True when all of it went out;
    /// otherwise the rest stays buffered for the next flush. Throws <see cref="IOException"/>
    /// when the client is gone.
    /// </summary>
    public bool TrySend()
    {
        if (_written == 0)
        {
            return true;
        }

        int sent;
        try
        {
            sent = socket.Send(_buffer.AsSpan(0, _written), SocketFlags.None, out var error);
            if (error is not (SocketError.Success or SocketError.WouldBlock))
            {
                throw new IOException($"Sending to the client failed ({error}).", new SocketException((int)error));
            }
        }
        catch (ObjectDisposedException ex)
        {
            throw new IOException("The connection was closed.", ex);
        }

        if (sent == _written)
        {
            Release();
            return true;
        }

        _buffer.AsSpan(sent, _written - sent).CopyTo(_buffer);
        _written -= sent;
        return false;
    }

    private async ValueTask<FlushResult> SendRestAsync(CancellationToken cancellationToken)
    {
        var sent = 0;
        var pending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Volatile.Write(ref _pendingSend, pending);
        try
        {
            if (_cancelRequested)
            {
                pending.Cancel();
            }

            while (sent < _written)
            {
                sent += await socket.SendAsync(_buffer.AsMemory(sent, _written - sent), SocketFlags.None, pending.Token).ConfigureAwait(false);
            }

            Release();
            return default;
        }
        catch (OperationCanceledException) when (_cancelRequested && !cancellationToken.IsCancellationRequested)
        {
            _cancelRequested = false;
            return new FlushResult(isCanceled: true, isCompleted: false);
        }
        catch (SocketException ex)
        {
            throw new IOException($"Sending to the client failed ({ex.SocketErrorCode}).", ex);
        }
        finally
        {
            Volatile.Write(ref _pendingSend, null);
            pending.Dispose();
        }
    }

    /// <summary>Makes room for <paramref name="sizeHint"/> more bytes; returns where they start.</summary>
    private int Reserve(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (_buffer is null || needed > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(MinimumBufferSize, (_buffer?.Length ?? 0) * 2)));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, _written).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = larger;
        }

        return _written;
    }

    private void Release()
    {
        _written = 0;
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
