using System.Runtime.CompilerServices;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// Reads back a range of one partition for a resume: a short-lived consumer per read-back,
/// within the partition's retained offsets, with at most <c>ReplayConcurrency</c> at once.
/// </summary>
internal sealed class KafkaReadBack
{
    private const int BatchSize = 256;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly KafkaBrokerOptions _options;
    private readonly KafkaClients _clients;
    private readonly KafkaTopic _topic;
    private readonly KafkaWatermarks _watermarks;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate;

    public KafkaReadBack(KafkaBrokerOptions options, KafkaClients clients, KafkaTopic topic, KafkaWatermarks watermarks, TimeProvider time, ILogger logger)
    {
        _options = options;
        _clients = clients;
        _topic = topic;
        _watermarks = watermarks;
        _time = time;
        _logger = logger;
        _gate = new SemaphoreSlim(Math.Max(1, options.ReplayConcurrency));
    }

    public async IAsyncEnumerable<BrokerRecord> ReadAsync(int partition, long fromOffset, long toOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if ((uint)partition >= (uint)_topic.State.PartitionCount || fromOffset >= toOffset)
        {
            yield break;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        IConsumer<Ignore, byte[]>? consumer = null;
        try
        {
            var topicPartition = new TopicPartition(_options.Topic, partition);
            var watermarks = await _watermarks.QueryAsync(topicPartition, cancellationToken).ConfigureAwait(false);
            var start = Math.Max(fromOffset, watermarks.Low.Value);
            var end = Math.Min(toOffset, watermarks.High.Value);
            if (start >= end)
            {
                yield break;
            }

            consumer = _clients.CreateConsumer("read", partitionEof: true);
            consumer.Assign(new TopicPartitionOffset(topicPartition, start));
            var batch = new List<ConsumeResult<Ignore, byte[]>>(BatchSize);
            var done = false;
            while (!done)
            {
                batch.Clear();
                var reader = consumer;
                done = await Task.Run(() => FillBatch(reader, batch, end, cancellationToken), cancellationToken).ConfigureAwait(false);
                foreach (var result in batch)
                {
                    yield return KafkaRecordFormat.ToRecord(result);
                }
            }
        }
        finally
        {
            consumer?.Dispose();
            _gate.Release();
        }
    }

    public async Task<long> GetEarliestOffsetAsync(int partition, CancellationToken cancellationToken)
    {
        if ((uint)partition >= (uint)_topic.State.PartitionCount)
        {
            return 0;
        }

        var watermarks = await _watermarks.QueryAsync(new TopicPartition(_options.Topic, partition), cancellationToken).ConfigureAwait(false);
        return watermarks.Low.Value;
    }

    /// <summary>Consumes up to one batch of a read-back; returns true when the range is complete.</summary>
    private bool FillBatch(IConsumer<Ignore, byte[]> consumer, List<ConsumeResult<Ignore, byte[]>> batch, long end, CancellationToken cancellationToken)
    {
        var idleDeadline = _time.GetUtcNow() + _options.ReadTimeout;
        while (batch.Count < BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ConsumeResult<Ignore, byte[]>? result;
            try
            {
                result = consumer.Consume(PollInterval);
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                var position = e.ConsumerRecord?.TopicPartitionOffset;
                Log.RecordError(_logger, position?.Partition.Value ?? -1, position?.Offset.Value ?? -1, KafkaClients.Describe(e.Error));
                continue;
            }
            catch (KafkaException e)
            {
                throw KafkaUnavailable.RetryLater($"Reading back from Kafka failed: {e.Error.Reason}", e);
            }

            if (result is null)
            {
                if (_time.GetUtcNow() > idleDeadline)
                {
                    throw KafkaUnavailable.RetryLater("Reading back from Kafka timed out.");
                }

                continue;
            }

            idleDeadline = _time.GetUtcNow() + _options.ReadTimeout;
            if (result.IsPartitionEOF)
            {
                return true;
            }

            if (result.Offset.Value >= end)
            {
                return true;
            }

            batch.Add(result);
            if (result.Offset.Value >= end - 1)
            {
                return true;
            }
        }

        return false;
    }
}
