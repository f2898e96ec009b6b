using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// One stream consumer on its own channel, feeding a bounded queue. The consumer handler waits
/// when the queue is full, which stops acknowledging, which stops the broker's credit: a slow
/// reader pushes back to the broker instead of growing memory. Acks only return credit on a
/// stream (never nack or reject: that closes the channel). When the channel or the consumer
/// ends for any reason the queue completes with <see cref="StreamSessionLostException"/> after
/// the deliveries already received.
/// </summary>
internal sealed class StreamSession : IAsyncDisposable
{
    public const string OffsetHeader = "x-stream-offset";

    private readonly IChannel _channel;
    private readonly Channel<StreamDelivery> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _ackEvery;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _stream;
    private int _unacked;
    private int _disposed;

    private StreamSession(IChannel channel, int prefetch, TimeProvider time, ILogger logger, string stream)
    {
        _channel = channel;
        _time = time;
        _logger = logger;
        _stream = stream;
        _ackEvery = Math.Max(1, prefetch / 2);
        _queue = Channel.CreateBounded<StreamDelivery>(new BoundedChannelOptions(prefetch)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Deliveries without an offset header (never expected from a stream).</summary>
    public int MissingOffsets { get; private set; }

    /// <summary>
    /// Opens a channel and starts consuming <paramref name="stream"/> at <paramref name="offset"/>
    /// (a long, <c>first</c>, <c>last</c>, <c>next</c>, or an <see cref="AmqpTimestamp"/>).
    /// </summary>
    public static async Task<StreamSession> StartAsync(IConnection connection, string stream, int prefetch, object offset, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var session = new StreamSession(channel, prefetch, time, logger, stream);
        try
        {
            await channel.BasicQosAsync(0, (ushort)prefetch, false, cancellationToken).ConfigureAwait(false);
            channel.ChannelShutdownAsync += session.OnChannelShutdownAsync;
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += session.OnReceivedAsync;
            consumer.UnregisteredAsync += session.OnUnregisteredAsync;
            var arguments = new Dictionary<string, object?> { [OffsetHeader] = offset };
            await channel.BasicConsumeAsync(stream, autoAck: false, consumerTag: string.Empty, noLocal: false, exclusive: false, arguments, consumer, cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ChannelReader<StreamDelivery> Reader => _queue.Reader;

    private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs args)
    {
        if (!TryGetOffset(args.BasicProperties, out var offset))
        {
            if (MissingOffsets++ == 0)
            {
                Log.MissingOffset(_logger, _stream);
            }

            await AckAsync(args.DeliveryTag).ConfigureAwait(false);
            return;
        }

        var properties = args.BasicProperties;
        var timestamp = properties.IsTimestampPresent() && properties.Timestamp.UnixTime > 0
            ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime)
            : _time.GetUtcNow();

        // The client reuses the body's buffer after this handler returns: copy it, once.
        var delivery = new StreamDelivery(offset, timestamp, args.Body.ToArray(), properties.MessageId);
        try
        {
            if (!_queue.Writer.TryWrite(delivery))
            {
                await _queue.Writer.WriteAsync(delivery, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            return;
        }
        catch (ChannelClosedException)
        {
            return;
        }

        await AckAsync(args.DeliveryTag).ConfigureAwait(false);
    }

    private async Task AckAsync(ulong deliveryTag)
    {
        if (++_unacked < _ackEvery)
        {
            return;
        }

        _unacked = 0;
        try
        {
            await _channel.BasicAckAsync(deliveryTag, multiple: true, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The channel is going away; its shutdown completes the queue.
        }
    }

    internal static bool TryGetOffset(IReadOnlyBasicProperties properties, out long offset)
    {
        offset = 0;
        if (properties.Headers is null || !properties.Headers.TryGetValue(OffsetHeader, out var value))
        {
            return false;
        }

        switch (value)
        {
            case long l:
                offset = l;
                return true;
            case int i:
                offset = i;
                return true;
            case ulong u when u <= long.MaxValue:
                offset = (long)u;
                return true;
            case uint ui:
                offset = ui;
                return true;
            case short s:
                offset = s;
                return true;
            default:
                return false;
        }
    }

    private Task OnChannelShutdownAsync(object sender, ShutdownEventArgs args)
    {
        _queue.Writer.TryComplete(new StreamSessionLostException($"channel closed by {args.Initiator}: {args.ReplyCode} {args.ReplyText}"));
        return Task.CompletedTask;
    }

    private Task OnUnregisteredAsync(object sender, ConsumerEventArgs args)
    {
        _queue.Writer.TryComplete(new StreamSessionLostException("the broker cancelled the consumer (was the stream deleted?)"));
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await StreamTopology.CloseQuietlyAsync(_channel).ConfigureAwait(false);

        // _stopping is not disposed: a late handler may still read it, and it holds no timer.
    }
}
