using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// Appends to the stream through the default exchange (routing key = stream name) on one
/// channel with publisher confirms. A batch is pipelined: every message is sent, then all
/// confirms are awaited together (the client keeps the frames in call order). Publishing is
/// mandatory, so a missing stream is an error (a return), never a silent drop.
/// </summary>
internal sealed class StreamPublisher(RabbitMqConnector connector, RabbitMqBrokerOptions options, ILogger logger, TimeProvider time) : IAsyncDisposable
{
    /// <summary>Header naming the envelope's channel, for broker-side tools.</summary>
    public const string ChannelHeader = "edge-channel";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChannel? _channel;

    public async Task PublishAsync(IReadOnlyList<BrokerMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return;
        }

        if (connector.Blocked is { } blocked)
        {
            Log.PublishFailed(logger, messages.Count, options.StreamName, "publishing is blocked: " + blocked);
            throw new BrokerUnavailableException($"RabbitMQ blocks publishing ({blocked}).") { RetryAfter = TimeSpan.FromSeconds(5) };
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.PublishTimeout);
        IChannel? channel = null;
        Task[]? confirms = null;
        try
        {
            channel = await GetChannelAsync(timeout.Token).ConfigureAwait(false);
            var now = new AmqpTimestamp(time.GetUtcNow().ToUnixTimeSeconds());
            confirms = new Task[messages.Count];
            for (var i = 0; i < messages.Count; i++)
            {
                var message = messages[i];
                var properties = new BasicProperties
                {
                    MessageId = message.MessageId,
                    ContentType = "application/json",
                    DeliveryMode = DeliveryModes.Persistent,
                    Timestamp = now,
                    Headers = new Dictionary<string, object?>(2) { [ChannelHeader] = message.Channel },
                };
                confirms[i] = channel.BasicPublishAsync(string.Empty, options.StreamName, mandatory: true, properties, message.Body, timeout.Token).AsTask();
            }

            await Task.WhenAll(confirms).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            ObserveLateFailures(confirms);
            await DropChannelAsync(channel).ConfigureAwait(false);
            throw;
        }
        catch (BrokerUnavailableException ex)
        {
            Log.PublishFailed(logger, messages.Count, options.StreamName, ex.Message);
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ObserveLateFailures(confirms);
            var reason = ex switch
            {
                PublishReturnException r => $"the broker returned the message ({r.ReplyCode} {r.ReplyText}): does stream '{options.StreamName}' exist?",
                PublishException { IsReturn: false } => "the broker refused the message (nack)",
                OperationCanceledException or TimeoutException => $"no confirm within {options.PublishTimeout.TotalSeconds:0.#} s",
                _ => RabbitMqConnector.Describe(ex),
            };
            Log.PublishFailed(logger, messages.Count, options.StreamName, reason);
            await DropChannelAsync(channel).ConfigureAwait(false);
            throw new BrokerUnavailableException("RabbitMQ did not confirm the publish: " + reason, ex) { RetryAfter = TimeSpan.FromSeconds(1) };
        }
    }

    /// <summary>Confirms still pending when a publish gave up fail later with the channel; observe them.</summary>
    private static void ObserveLateFailures(Task[]? confirms)
    {
        if (confirms is null)
        {
            return;
        }

        foreach (var confirm in confirms)
        {
            if (confirm is not null && !confirm.IsCompleted)
            {
                _ = confirm.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private async Task<IChannel> GetChannelAsync(CancellationToken cancellationToken)
    {
        var channel = _channel;
        if (channel is { IsOpen: true })
        {
            return channel;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            channel = _channel;
            if (channel is { IsOpen: true })
            {
                return channel;
            }

            if (channel is not null)
            {
                _channel = null;
                await StreamTopology.CloseQuietlyAsync(channel).ConfigureAwait(false);
            }

            var connection = await connector.GetAsync(cancellationToken).ConfigureAwait(false);
            channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
            _channel = channel;
            return channel;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DropChannelAsync(IChannel? channel)
    {
        if (channel is null)
        {
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (ReferenceEquals(_channel, channel))
            {
                _channel = null;
            }
        }
        finally
        {
            _gate.Release();
        }

        // Closing can wait for the broker (a blocked or dying connection): never make the caller wait for it.
        _ = Task.Run(() => StreamTopology.CloseQuietlyAsync(channel));
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel)
        {
            _channel = null;
            await StreamTopology.CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }
}
