using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// Where the live feed starts: at the heads, or earlier by the configured look-back, by time
/// where the cluster has a time index and by record count where it has none.
/// </summary>
internal sealed class KafkaLookBack(KafkaBrokerOptions options, KafkaClients clients, KafkaWatermarks watermarks, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan ProbePollInterval = TimeSpan.FromMilliseconds(200);

    public bool IsConfigured => options.LookBack > TimeSpan.Zero || options.LookBackRecords > 0;

    /// <summary>The offset of each partition the feed starts at, given each partition's watermarks.</summary>
    public long[] StartOffsets(long[] low, long[] high)
    {
        var start = (long[])high.Clone();
        if (!IsConfigured)
        {
            return start;
        }

        var byCount = new bool[start.Length];
        if (options.LookBack > TimeSpan.Zero)
        {
            var since = new Timestamp(time.GetUtcNow() - options.LookBack);
            var query = new List<TopicPartitionTimestamp>(start.Length);
            for (var p = 0; p < start.Length; p++)
            {
                query.Add(new TopicPartitionTimestamp(options.Topic, p, since));
            }

            foreach (var result in watermarks.OffsetsForTimes(query))
            {
                var p = result.Partition.Value;
                if ((uint)p >= (uint)start.Length)
                {
                    continue;
                }

                var offset = result.Offset.Value;
                if (offset >= low[p] && offset < high[p])
                {
                    start[p] = offset;
                }
                else if (high[p] > low[p] && LastTimestamp(p, high[p] - 1) >= since.UnixTimestampMs)
                {
                    // The cluster answered "nothing that recent" although the last record is: it has no time index.
                    byCount[p] = true;
                }
            }
        }
        else
        {
            Array.Fill(byCount, true);
        }

        for (var p = 0; p < start.Length; p++)
        {
            if (byCount[p] && options.LookBackRecords > 0)
            {
                start[p] = Math.Max(low[p], high[p] - options.LookBackRecords);
                if (options.LookBack > TimeSpan.Zero)
                {
                    Log.LookBackByCount(logger, p, options.LookBackRecords);
                }
            }
        }

        return start;
    }

    private long LastTimestamp(int partition, long offset)
    {
        using var consumer = clients.CreateConsumer("probe", partitionEof: true);
        consumer.Assign(new TopicPartitionOffset(options.Topic, partition, offset));
        var deadline = time.GetUtcNow() + options.RequestTimeout;
        while (time.GetUtcNow() < deadline)
        {
            var result = consumer.Consume(ProbePollInterval);
            if (result is null)
            {
                continue;
            }

            return result.IsPartitionEOF ? long.MinValue : result.Message.Timestamp.UnixTimestampMs;
        }

        return long.MinValue;
    }
}
