using System.Globalization;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// The stream queue and what surrounds it: declaring it (with retention and the bound exchange),
/// and probing its ends. AMQP has no "stream length" call (queue.declare-ok reports 0 messages
/// for a stream), so the head is found by reading from <c>last</c>, which delivers the last chunk
/// whole: its highest offset plus one is a head never above the true one.
/// </summary>
internal sealed class StreamTopology(RabbitMqBrokerOptions options, ILogger logger, TimeProvider time)
{
    /// <summary>How long to wait for a first delivery before calling a stream empty (deliveries from <c>last</c> take milliseconds).</summary>
    internal static readonly TimeSpan FirstDeliveryTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The second, longer wait, when the stream is known to have held records.</summary>
    internal static readonly TimeSpan SlowFirstDeliveryTimeout = TimeSpan.FromSeconds(5);

    /// <summary>After this long without a delivery, the last chunk is taken as complete.</summary>
    internal static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(150);

    /// <summary>Under a steady publish there is never a quiet period: stop probing after this.</summary>
    internal static readonly TimeSpan ProbeCap = TimeSpan.FromSeconds(2);

    public string Stream => options.StreamName;

    public Dictionary<string, object?> StreamArguments()
    {
        var arguments = new Dictionary<string, object?> { ["x-queue-type"] = "stream" };
        if (options.MaxAge > TimeSpan.Zero)
        {
            arguments["x-max-age"] = ((long)options.MaxAge.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
        }

        if (options.MaxLengthBytes > 0)
        {
            arguments["x-max-length-bytes"] = options.MaxLengthBytes;
        }

        if (options.MaxSegmentSizeBytes > 0)
        {
            arguments["x-stream-max-segment-size-bytes"] = options.MaxSegmentSizeBytes;
        }

        return arguments;
    }

    /// <summary>Whether the stream exists (a passive declare, on a throwaway channel since a miss closes it).</summary>
    public static async Task<bool> QueueExistsAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.QueueDeclarePassiveAsync(queue, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.NotFound && IsMissingQueue(ex.ShutdownReason.ReplyText))
        {
            return false;
        }
        finally
        {
            await CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// True for "no queue 'x' in vhost '/'". After a node restart RabbitMQ also answers 404 for a
    /// queue that exists but is not up yet ("home node … of durable queue … is down or
    /// inaccessible"): that must never be taken for a deleted stream, or a new epoch would
    /// throw away the history of a stream that is merely starting.
    /// </summary>
    internal static bool IsMissingQueue(string? replyText) =>
        replyText is not null && replyText.Contains("no queue", StringComparison.OrdinalIgnoreCase);

    /// <summary>Declares the stream with the configured retention, and the exchange bound to it.</summary>
    public async Task DeclareAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.QueueDeclareAsync(Stream, durable: true, exclusive: false, autoDelete: false, StreamArguments(), cancellationToken: cancellationToken).ConfigureAwait(false);
            Log.StreamDeclared(logger, Stream, options.MaxAge > TimeSpan.Zero ? options.MaxAge.ToString() : "unlimited", options.MaxLengthBytes, options.MaxSegmentSizeBytes);
        }
        finally
        {
            await CloseQuietlyAsync(channel).ConfigureAwait(false);
        }

        await DeclareExchangeAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Declares the configured exchange and binds it to the stream (idempotent).</summary>
    public async Task DeclareExchangeAsync(IConnection connection, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(options.Exchange))
        {
            return;
        }

        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.ExchangeDeclareAsync(options.Exchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueBindAsync(Stream, options.Exchange, routingKey: string.Empty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Checks that an existing stream has the configured retention: a redeclare with other
    /// arguments fails with 406 and is only logged (the existing stream keeps serving).
    /// </summary>
    public async Task CheckArgumentsAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.QueueDeclareAsync(Stream, durable: true, exclusive: false, autoDelete: false, StreamArguments(), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.PreconditionFailed)
        {
            Log.StreamArgumentsDiffer(logger, Stream, ex.ShutdownReason.ReplyText);
        }
        finally
        {
            await CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The offset the next record will get, or at most that: the highest offset of the last chunk
    /// plus one; zero for an empty stream. Null when nothing arrived within <paramref name="firstDeliveryTimeout"/>.
    /// </summary>
    public async Task<long?> ProbeHeadAsync(IConnection connection, TimeSpan firstDeliveryTimeout, CancellationToken cancellationToken)
    {
        await using var session = await StreamSession.StartAsync(connection, Stream, options.Prefetch, "last", time, logger, cancellationToken).ConfigureAwait(false);
        var started = time.GetTimestamp();
        long firstAt = 0;
        long? max = null;
        var reader = session.Reader;
        while (true)
        {
            while (reader.TryRead(out var delivery))
            {
                firstAt = firstAt == 0 ? time.GetTimestamp() : firstAt;
                max = max is { } m && m > delivery.Offset ? m : delivery.Offset;
            }

            if (max is null ? time.GetElapsedTime(started) >= firstDeliveryTimeout : time.GetElapsedTime(firstAt) >= ProbeCap)
            {
                break;
            }

            var wait = max is null ? firstDeliveryTimeout - time.GetElapsedTime(started) : QuietPeriod;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(1));
            try
            {
                if (!await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
                {
                    await reader.Completion.ConfigureAwait(false);
                    throw new StreamSessionLostException("the probe consumer ended");
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (max is not null)
                {
                    break;
                }
            }
        }

        return max + 1;
    }

    /// <summary>
    /// The offset of the first record a consumer attached at <paramref name="offset"/> (<c>first</c>,
    /// a timestamp…) receives, or null if none arrived within the timeout (nothing there yet).
    /// </summary>
    public async Task<long?> ProbeFirstOffsetAsync(IConnection connection, object offset, CancellationToken cancellationToken)
    {
        await using var session = await StreamSession.StartAsync(connection, Stream, 1, offset, time, logger, cancellationToken).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(FirstDeliveryTimeout);
        try
        {
            if (await session.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false) && session.Reader.TryRead(out var first))
            {
                return first.Offset;
            }

            await session.Reader.Completion.ConfigureAwait(false);
            throw new StreamSessionLostException("the probe consumer ended");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    internal static async Task CloseQuietlyAsync(IChannel channel)
    {
        try
        {
            if (channel.IsOpen)
            {
                await channel.CloseAsync().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // A channel that failed cannot close cleanly; it is discarded either way.
        }

        try
        {
            await channel.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // As above.
        }
    }
}
