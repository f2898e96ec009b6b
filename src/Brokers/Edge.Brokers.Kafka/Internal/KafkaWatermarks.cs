using System.Collections.Concurrent;
using Confluent.Kafka;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// Answers offset queries about the topic's partitions (low and high watermarks, offsets for
/// times) through one metadata consumer, renewed when its metadata lacks a partition just added.
/// </summary>
internal sealed class KafkaWatermarks(KafkaBrokerOptions options, KafkaClients clients, KafkaAvailability availability, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan RenewAtMostEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan UnknownPartitionRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly Lock _renewGate = new();
    private readonly ConcurrentBag<IDisposable> _retired = [];
    private volatile IConsumer<Ignore, byte[]>? _consumer;
    private DateTimeOffset _renewed;

    public void Connect() => _consumer ??= clients.CreateConsumer("meta", partitionEof: false);

    public Task<WatermarkOffsets> QueryAsync(TopicPartition topicPartition, CancellationToken cancellationToken) =>
        Task.Run(() => Query(topicPartition), cancellationToken);

    /// <summary>The low and high watermark of every partition, never below zero.</summary>
    public (long[] Low, long[] High) QueryAll(int partitionCount)
    {
        var low = new long[partitionCount];
        var high = new long[partitionCount];
        for (var p = 0; p < partitionCount; p++)
        {
            var watermarks = Query(new TopicPartition(options.Topic, p));
            low[p] = Math.Max(0, watermarks.Low.Value);
            high[p] = Math.Max(0, watermarks.High.Value);
        }

        return (low, high);
    }

    public List<TopicPartitionOffset> OffsetsForTimes(IEnumerable<TopicPartitionTimestamp> query) =>
        _consumer!.OffsetsForTimes(query, options.RequestTimeout);

    public void Dispose()
    {
        _consumer?.Dispose();
        foreach (var retired in _retired)
        {
            retired.Dispose();
        }
    }

    private WatermarkOffsets Query(TopicPartition topicPartition)
    {
        var deadline = time.GetUtcNow() + options.RequestTimeout;
        while (true)
        {
            try
            {
                return _consumer!.QueryWatermarkOffsets(topicPartition, options.RequestTimeout);
            }
            catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_UnknownPartition && time.GetUtcNow() < deadline)
            {
                // A partition just added is not yet in this client's metadata cache, which a
                // watermark query does not refresh: a new client reads fresh metadata.
                Renew();
                Thread.Sleep(UnknownPartitionRetryDelay);
            }
            catch (KafkaException e)
            {
                availability.MarkUnavailable(KafkaClients.Describe(e.Error));
                throw KafkaUnavailable.RetryLater($"Kafka did not report the offsets of partition {topicPartition.Partition.Value}: {e.Error.Reason}", e);
            }
        }
    }

    private void Renew()
    {
        lock (_renewGate)
        {
            var now = time.GetUtcNow();
            if (now - _renewed < RenewAtMostEvery)
            {
                return;
            }

            _renewed = now;
            // Another thread may still be using the old client: it is disposed with the broker.
            _retired.Add(_consumer!);
            _consumer = clients.CreateConsumer("meta", partitionEof: false);
        }
    }
}
