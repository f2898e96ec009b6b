using System.Diagnostics.CodeAnalysis;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// Appends events to the topic through one idempotent producer, replaced after a fatal error.
/// A publish completes once every record's delivery report has arrived, and fails when one is
/// an error or does not arrive within <c>PublishTimeout</c>.
/// </summary>
internal sealed class KafkaEventPublisher(KafkaBrokerOptions options, KafkaClients clients, KafkaAvailability availability, TimeProvider time, ILogger logger, CancellationToken brokerDisposed)
{
    private static readonly TimeSpan QueueFullRetryDelay = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan DeliveryReportSlack = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FlushOnCloseTimeout = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private IProducer<string, byte[]>? _producer;
    private volatile bool _faulted;

    /// <summary>Notes a fatal client error: the next publish replaces the producer.</summary>
    public void MarkFaulted() => _faulted = true;

    public async Task<PublishReceipt> PublishAsync(IReadOnlyList<BrokerMessage> messages, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (messages.Count == 0)
        {
            return new PublishReceipt([]);
        }

        var producer = GetProducer();
        var batch = new PublishBatch(messages.Count);
        var deadline = time.GetUtcNow() + options.PublishTimeout;
        for (var i = 0; i < messages.Count; i++)
        {
            var record = KafkaRecordFormat.ToMessage(messages[i]);
            var index = i;
            Action<DeliveryReport<string, byte[]>> onDelivered = r => batch.Report(index, r);
            Error? refused;
            while (!TryProduce(producer, record, onDelivered, out refused) && refused.Code == ErrorCode.Local_QueueFull && time.GetUtcNow() < deadline)
            {
                // The local queue drains as the brokers acknowledge; wait for room, within the publish timeout.
                await Task.Delay(QueueFullRetryDelay, time, cancellationToken).ConfigureAwait(false);
            }

            if (refused is not null)
            {
                batch.Abandon(i, refused);
                break;
            }
        }

        PublishReceipt receipt;
        try
        {
            // librdkafka reports every message by message.timeout.ms; the slack covers a report still in flight.
            receipt = await batch.Task.WaitAsync(options.PublishTimeout + DeliveryReportSlack, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            Log.PublishFailed(logger, messages.Count, "no delivery report in time");
            throw KafkaUnavailable.RetryLater("Kafka did not acknowledge the publish in time.", e);
        }

        if (batch.FirstError is { } failure)
        {
            var reason = KafkaClients.Describe(failure);
            Log.PublishFailed(logger, batch.Failed, reason);
            throw KafkaUnavailable.RetryLater($"Kafka did not acknowledge {batch.Failed} of {messages.Count} messages: {failure.Reason}");
        }

        availability.MarkAvailable();
        return receipt;
    }

    /// <summary>Delivers what the producer still holds, briefly, and disposes of it; called once the broker is disposed.</summary>
    public void Close()
    {
        IProducer<string, byte[]>? producer;
        lock (_gate)
        {
            producer = _producer;
            _producer = null;
        }

        if (producer is not null)
        {
            producer.Flush(FlushOnCloseTimeout);
            producer.Dispose();
        }
    }

    private IProducer<string, byte[]> GetProducer()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(brokerDisposed.IsCancellationRequested, typeof(KafkaBroker));
            if (_producer is not null && _faulted)
            {
                Log.ProducerFaulted(logger, "fatal error reported");
                var faulted = _producer;
                _producer = null;
                _ = Task.Run(faulted.Dispose);
            }

            if (_producer is null)
            {
                _faulted = false;
                _producer = clients.CreateProducer();
            }

            return _producer;
        }
    }

    /// <summary>Hands one record to the producer; false (with the error) when it refuses it.</summary>
    private bool TryProduce(IProducer<string, byte[]> producer, Message<string, byte[]> record, Action<DeliveryReport<string, byte[]>> onDelivered, [NotNullWhen(false)] out Error? error)
    {
        try
        {
            producer.Produce(options.Topic, record, onDelivered);
            error = null;
            return true;
        }
        catch (ProduceException<string, byte[]> e)
        {
            error = e.Error;
            return false;
        }
        catch (KafkaException e)
        {
            error = e.Error;
            return false;
        }
    }
}
