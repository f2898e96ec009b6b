using System.Buffers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Edge.Transports.Sockets;

/// <summary>
/// Decides, from a new connection's first bytes and without taking any of them, whether it is a
/// stream GET the edge serves itself or a connection for Kestrel. It never blocks: the socket is
/// peeked without waiting, and a connection whose head is not all there yet is looked at again a
/// few times within <see cref="ClassifyTime"/>, holding no buffer and no thread in between. Past
/// that time, or when <see cref="MaxWaiting"/> connections are already waiting, the connection goes
/// to Kestrel, which applies its own timeouts and limits from the first byte.
/// </summary>
internal sealed class HeadClassifier(IDirectStreamEndpoint endpoint, IOptions<KestrelServerOptions> kestrel, TimeProvider timeProvider)
{
    /// <summary>How long a connection may take to deliver its whole head before Kestrel gets it.</summary>
    public static readonly TimeSpan ClassifyTime = TimeSpan.FromMilliseconds(50);

    /// <summary>Connections waiting for the rest of their head at once; more go to Kestrel straight away.</summary>
    public const int MaxWaiting = 1024;

    /// <summary>The longest pause between two looks at a head that is not complete yet.</summary>
    private static readonly TimeSpan MaxPause = TimeSpan.FromMilliseconds(16);

    private readonly Func<string, object?> _matchStream = endpoint.Match;
    private readonly HeadLimits _limits = HeadLimits.Within(kestrel.Value.Limits);
    private int _waiting;

    /// <summary>
    /// The stream head and its length, or null (nothing consumed) when Kestrel serves the
    /// connection. The socket must be in non-blocking mode.
    /// </summary>
    public ValueTask<(RequestHead? Head, int Length)> ClassifyAsync(Socket socket, CancellationToken cancellationToken)
    {
        var outcome = Look(socket, out var head, out var length);
        if (outcome != HeadReadResult.Incomplete)
        {
            return new((head, length));
        }

        if (Interlocked.Increment(ref _waiting) > MaxWaiting)
        {
            Interlocked.Decrement(ref _waiting);
            return new((null, 0));
        }

        return WaitAsync(socket, cancellationToken);
    }

    private async ValueTask<(RequestHead? Head, int Length)> WaitAsync(Socket socket, CancellationToken cancellationToken)
    {
        try
        {
            var started = timeProvider.GetTimestamp();
            var pause = TimeSpan.FromMilliseconds(1);
            for (var left = ClassifyTime; left > TimeSpan.Zero; left = ClassifyTime - timeProvider.GetElapsedTime(started))
            {
                // 1, 2, 4, 8, 16, 16... ms: most heads that arrive in pieces are complete within a round trip.
                await Task.Delay(pause < left ? pause : left, timeProvider, cancellationToken).ConfigureAwait(false);
                pause = pause * 2 < MaxPause ? pause * 2 : MaxPause;
                var outcome = Look(socket, out var head, out var length);
                if (outcome != HeadReadResult.Incomplete)
                {
                    return (head, length);
                }
            }

            return (null, 0);
        }
        catch (OperationCanceledException)
        {
            return (null, 0);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>One non-blocking peek; the buffer is the pool's again before this returns.</summary>
    private HeadReadResult Look(Socket socket, out RequestHead? head, out int length)
    {
        head = null;
        length = 0;
        var size = _limits.MaxHeadBytes + 1;
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            int received;
            SocketError error;
            try
            {
                received = socket.Receive(buffer, 0, size, SocketFlags.Peek, out error);
            }
            catch (ObjectDisposedException)
            {
                return HeadReadResult.NotDirect;
            }

            if (error == SocketError.WouldBlock)
            {
                return HeadReadResult.Incomplete;
            }

            if (error != SocketError.Success || received == 0)
            {
                // Gone, or closed before sending anything: Kestrel sees the same and ends it.
                return HeadReadResult.NotDirect;
            }

            var outcome = RequestHead.Read(new ReadOnlySequence<byte>(buffer, 0, received), _matchStream, out head, out length, _limits);
            return outcome == HeadReadResult.Incomplete && received >= size ? HeadReadResult.NotDirect : outcome;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
