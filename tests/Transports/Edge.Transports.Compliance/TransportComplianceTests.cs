using System.Buffers;
using System.Text;
using Xunit;

namespace Edge.Transports.Compliance;

/// <summary>
/// What every <see cref="IConnectionTransport"/> must do, run unchanged against each transport
/// over a real connection to a real client. A derived class opens the transport; the assertions
/// are on the body bytes the client receives, so a transport's own framing (chunked on
/// Kestrel's path, a head in front of the first bytes on the socket path) does not matter.
/// </summary>
public abstract class TransportComplianceTests
{
    /// <summary>The bound on every wait; far beyond what any step takes on a loaded machine.</summary>
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>How long a flush must stay pending to count as waiting on the client.</summary>
    protected static readonly TimeSpan Stall = TimeSpan.FromMilliseconds(300);

    /// <summary>How soon a cancelled or failed flush must end: prompt, compared to a client that never reads.</summary>
    protected static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    private const int StallChunk = 256 * 1024;

    /// <summary>At most this many chunks (64 MB) are written to get a flush to wait on a stalled client.</summary>
    private const int MaxStallChunks = 256;

    /// <summary>A new transport to a new client, its response started (or about to start with the first bytes).</summary>
    protected abstract Task<TransportUnderTest> OpenAsync(CancellationToken cancellationToken);

    [Fact]
    public async Task FramesSentOneAtATime_ArriveExactlyAndInOrder()
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        var expected = new MemoryStream();
        for (var i = 0; i < 2000; i++)
        {
            expected.Write(Frame(i));
        }

        var reading = ReadExactlyAsync(connection, (int)expected.Length, cts.Token);
        for (var i = 0; i < 2000; i++)
        {
            transport.Output.Write(Frame(i));
            await SendAsync(transport, cts.Token);
        }

        AssertSameBytes(expected.ToArray(), await reading.WaitAsync(Wait));
    }

    [Fact]
    public async Task ManyFramesWrittenBeforeOneSend_ArriveExactlyAndInOrder()
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        var expected = new MemoryStream();
        for (var i = 0; i < 5000; i++)
        {
            var frame = Frame(i);
            expected.Write(frame);
            transport.Output.Write(frame);
        }

        var reading = ReadExactlyAsync(connection, (int)expected.Length, cts.Token);
        await SendAsync(transport, cts.Token);

        AssertSameBytes(expected.ToArray(), await reading.WaitAsync(Wait));
    }

    [Fact]
    public async Task AFrameLargerThanTheSocketBuffers_ArrivesExactly_WhileTheClientReads()
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        var large = Pattern(4 * 1024 * 1024, seed: 7);

        var reading = ReadExactlyAsync(connection, large.Length, cts.Token);
        transport.Output.Write(large);
        await SendAsync(transport, cts.Token);

        AssertSameBytes(large, await reading.WaitAsync(Wait));
    }

    [Fact]
    public async Task TrySend_OfASmallFrame_SendsItAtOnceWhereInline_ElseReturnsFalseAndSendsNothing()
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        var frame = Frame(1);

        transport.Output.Write(frame);
        if (transport.CanSendInline)
        {
            Assert.True(transport.TrySend(), "a small frame to a client that keeps up goes out in one send");
            AssertSameBytes(frame, await ReadExactlyAsync(connection, frame.Length, cts.Token).WaitAsync(Wait));
            return;
        }

        Assert.False(transport.TrySend());
        var reading = ReadExactlyAsync(connection, frame.Length, cts.Token);
        await Task.WhenAny(reading, Task.Delay(Stall, cts.Token));
        Assert.False(reading.IsCompleted, "a transport that cannot send inline sent bytes from TrySend");

        // What TrySend did not send is still there for the flush.
        Assert.True(await transport.FlushAsync(cts.Token).AsTask().WaitAsync(Wait));
        AssertSameBytes(frame, await reading.WaitAsync(Wait));
    }

    [Fact]
    public async Task TrySend_ToAStalledClient_ReturnsFalse_AndAFlushSendsTheRestOnceTheClientReads()
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        if (!transport.CanSendInline)
        {
            transport.Output.Write(Frame(1));
            Assert.False(transport.TrySend());
            Assert.True(await transport.FlushAsync(cts.Token).AsTask().WaitAsync(Wait));
            return;
        }

        var expected = new MemoryStream();
        var partial = false;
        for (var i = 0; i < MaxStallChunks && !partial; i++)
        {
            var chunk = Pattern(StallChunk, seed: i);
            expected.Write(chunk);
            transport.Output.Write(chunk);
            partial = !transport.TrySend();
        }

        Assert.True(partial, $"TrySend took {expected.Length} bytes for a client that reads nothing");
        var reading = ReadExactlyAsync(connection, (int)expected.Length, cts.Token);
        Assert.True(await transport.FlushAsync(cts.Token).AsTask().WaitAsync(Wait));
        AssertSameBytes(expected.ToArray(), await reading.WaitAsync(Wait));
    }

    [Fact]
    public async Task Flush_ToAStalledClient_Waits_ThenCompletesOnceTheClientReads()
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;

        var (flush, expected) = await StallAsync(transport, cts.Token);
        Assert.False(flush.IsCompleted);

        var reading = ReadExactlyAsync(connection, expected.Length, cts.Token);
        Assert.True(await flush.WaitAsync(Wait), "the flush ended without sending once the client read again");
        AssertSameBytes(expected, await reading.WaitAsync(Wait));
    }

    [Fact]
    public async Task CancelPendingFlush_MakesAFlushWaitingOnAStalledClientReturnFalsePromptly()
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        var (flush, _) = await StallAsync(transport, cts.Token);

        transport.CancelPendingFlush();

        Assert.False(await flush.WaitAsync(Prompt));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFlushWaitingOnAStalledClient_EndsWhenTheClientDisconnects(bool abortive)
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        var (flush, _) = await StallAsync(transport, cts.Token);

        await connection.DisconnectAsync(abortive);

        var ended = await EndsAsync(flush, Prompt);
        Assert.True(ended is false or IOException, $"a flush to a client that left returned {Describe(ended)}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Flush_AfterTheClientDisconnects_ReturnsFalseOrThrowsIOException(bool abortive)
    {
        var (ended, attempts) = await SendAfterTheClientLeftAsync(abortive, async (transport, token) =>
            await EndsAsync(transport.FlushAsync(token).AsTask(), Prompt));

        Assert.True(ended is false or IOException, $"after {attempts} flushes to a client that left, the last returned {Describe(ended)}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TrySend_AfterTheClientDisconnects_ThrowsIOExceptionOrReturnsFalse(bool abortive)
    {
        var (ended, attempts) = await SendAfterTheClientLeftAsync(abortive, (transport, _) =>
        {
            try
            {
                return Task.FromResult<object?>(transport.TrySend());
            }
            catch (Exception ex)
            {
                return Task.FromResult<object?>(ex);
            }
        });

        Assert.True(ended is false or IOException, $"after {attempts} sends to a client that left, the last returned {Describe(ended)}");
    }

    [Fact]
    public async Task EndingTheResponse_EndsTheBodyTheClientReads_AfterWhatWasSent()
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        var frame = Frame(42);
        transport.Output.Write(frame);
        await SendAsync(transport, cts.Token);

        await connection.EndResponseAsync().WaitAsync(Wait);

        AssertSameBytes(frame, await ReadToEndAsync(connection, cts.Token).WaitAsync(Wait));
    }

    [Fact]
    public async Task EndingTheResponse_SendsWhatWasWrittenButNotYetSent_ThenEndsTheBody()
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        var first = Frame(1);
        var last = Frame(2);
        transport.Output.Write(first);
        await SendAsync(transport, cts.Token);
        transport.Output.Write(last);

        await connection.EndResponseAsync().WaitAsync(Wait);

        AssertSameBytes([.. first, .. last], await ReadToEndAsync(connection, cts.Token).WaitAsync(Wait));
    }

    /// <summary>Sends what is written the way the core does: one inline send where the transport can, a flush for the rest.</summary>
    protected static async Task SendAsync(IConnectionTransport transport, CancellationToken cancellationToken)
    {
        if (transport.CanSendInline && transport.TrySend())
        {
            return;
        }

        Assert.True(await transport.FlushAsync(cancellationToken).AsTask().WaitAsync(Wait), "a flush to a client that reads returned false");
    }

    /// <summary>
    /// Writes and flushes chunks to the stalled client until a flush waits; returns that flush,
    /// still pending, and every byte written so far.
    /// </summary>
    protected static async Task<(Task<bool> Flush, byte[] Written)> StallAsync(IConnectionTransport transport, CancellationToken cancellationToken)
    {
        var written = new MemoryStream();
        for (var i = 0; i < MaxStallChunks; i++)
        {
            var chunk = Pattern(StallChunk, seed: i);
            written.Write(chunk);
            transport.Output.Write(chunk);
            var flush = transport.FlushAsync(cancellationToken).AsTask();
            if (await Task.WhenAny(flush, Task.Delay(Stall, cancellationToken)) != flush)
            {
                return (flush, written.ToArray());
            }

            Assert.True(await flush, "a flush with room in the socket buffers returned false");
        }

        Assert.Fail($"{written.Length} bytes were flushed to a client that reads nothing, and no flush waited");
        return default;
    }

    protected static async Task<byte[]> ReadExactlyAsync(TransportUnderTest connection, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await connection.ReadBodyAsync(buffer.AsMemory(read), cancellationToken);
            Assert.True(n > 0, $"the body ended after {read} of {count} bytes");
            read += n;
        }

        return buffer;
    }

    protected static async Task<byte[]> ReadToEndAsync(TransportUnderTest connection, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await connection.ReadBodyAsync(buffer, cancellationToken)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }

    /// <summary>An SSE frame of its own length, so a lost, repeated or reordered byte shows.</summary>
    protected static byte[] Frame(int index) =>
        Encoding.ASCII.GetBytes($"id: {index}\ndata: {new string((char)('a' + (index % 26)), index % 97)}\n\n");

    /// <summary>Bytes that differ from any shifted copy of themselves within a chunk, and between chunks of other seeds.</summary>
    protected static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * 31) + (i >> 8) + (seed * 17));
        }

        return bytes;
    }

    protected static void AssertSameBytes(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var mismatch = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(mismatch == expected.Length, $"the bytes received differ from those sent at byte {mismatch} of {expected.Length}");
    }

    /// <summary>What a flush ended with (its result, or the exception it threw), or null when it was still pending after <paramref name="within"/>.</summary>
    /// <summary>
    /// Sends one frame the client reads, lets the client leave, then writes and sends again with
    /// <paramref name="send"/> while it reports success (true): a send may still be taken by the
    /// kernel before the reset comes back; none may succeed for long. Returns what the last send
    /// reported and how many were made.
    /// </summary>
    private async Task<(object? Ended, int Attempts)> SendAfterTheClientLeftAsync(bool abortive, Func<IConnectionTransport, CancellationToken, Task<object?>> send)
    {
        using var cts = new CancellationTokenSource(Wait);
        await using var connection = await OpenAsync(cts.Token);
        var transport = connection.Transport;
        transport.Output.Write(Frame(0));
        await SendAsync(transport, cts.Token);
        await ReadExactlyAsync(connection, Frame(0).Length, cts.Token).WaitAsync(Wait);

        await connection.DisconnectAsync(abortive);

        object? ended = true;
        var attempts = 0;
        while (ended is true && attempts++ < 500 && !cts.IsCancellationRequested)
        {
            transport.Output.Write(Pattern(16 * 1024, seed: attempts));
            ended = await send(transport, cts.Token);
            if (ended is true)
            {
                await Task.Delay(10, cts.Token);
            }
        }

        return (ended, attempts);
    }

    private static async Task<object?> EndsAsync(Task<bool> flush, TimeSpan within)
    {
        if (await Task.WhenAny(flush, Task.Delay(within)) != flush)
        {
            return null;
        }

        try
        {
            return await flush;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    private static string Describe(object? ended) => ended switch
    {
        null => $"nothing within {Prompt.TotalSeconds} s (it hangs)",
        Exception ex => ex.GetType().Name + ": " + ex.Message,
        _ => ended.ToString()!,
    };
}
