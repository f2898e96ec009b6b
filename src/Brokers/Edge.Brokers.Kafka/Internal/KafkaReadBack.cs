using System.Runtime.CompilerServices;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// Reads back a range of one partition for a resume: a short-lived consumer per read-back,
/// within the partition's retained offsets, with at most <c>ReplayConcurrency</c> at once.
/// </summary>
internal sealed class KafkaReadBack(KafkaBrokerOptions options, KafkaClients clients, KafkaTopic topic, KafkaWatermarks watermarks, TimeProvider time, ILogger logger)
{
    private const int BatchSize = 256;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly SemaphoreSlim _gate = new SemaphoreSlim(Math.Max(1, options.ReplayConcurrency));

    public async IAsyncEnumerable<BrokerRecord> ReadAsync(int partition, long fromOffset, long toOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if ((uint)partition >= (uint)topic.State.PartitionCount || fromOffset >= toOffset)
        {
            yield break;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        IConsumer<Ignore, byte[]>? consumer = null;
        try
        {
            var topicPartition = new TopicPartition(options.Topic, partition);
            var bounds = await watermarks.QueryAsync(topicPartition, cancellationToken).ConfigureAwait(false);
            var start = Math.Max(fromOffset, bounds.Low.Value);
            var end = Math.Min(toOffset, bounds.High.Value);
            if (start >= end)
            {
                yield break;
            }

            consumer = clients.CreateConsumer("read", partitionEof: true);
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
        if ((uint)partition >= (uint)topic.State.PartitionCount)
        {
            return 0;
        }

        var bounds = await watermarks.QueryAsync(new TopicPartition(options.Topic, partition), cancellationToken).ConfigureAwait(false);
        return bounds.Low.Value;
    }

    /// <summary>Consumes up to one batch of a read-back; returns true when the range is complete.</summary>
    private bool FillBatch(IConsumer<Ignore, byte[]> consumer, List<ConsumeResult<Ignore, byte[]>> batch, long end, CancellationToken cancellationToken)
    {
        var idleDeadline = time.GetUtcNow() + options.ReadTimeout;
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
                Log.RecordError(logger, position?.Partition.Value ?? -1, position?.Offset.Value ?? -1, KafkaClients.Describe(e.Error));
                continue;
            }
            catch (KafkaException e)
            {
                throw KafkaUnavailable.RetryLater($"Reading back from Kafka failed: {e.Error.Reason}", e);
            }

            if (result is null)
            {
                if (time.GetUtcNow() > idleDeadline)
                {
                    throw KafkaUnavailable.RetryLater("Reading back from Kafka timed out.");
                }

                continue;
            }

            idleDeadline = time.GetUtcNow() + options.ReadTimeout;
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
