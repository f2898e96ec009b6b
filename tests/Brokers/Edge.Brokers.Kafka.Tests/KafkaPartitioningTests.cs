using System.Text;
using Edge.Brokers.Kafka.Internal;
using Xunit;

namespace Edge.Brokers.Kafka.Tests;

[Trait("Category", "Kafka")]
public sealed class KafkaPartitioningTests
{
    // Values from Kafka's own tests of Utils.murmur2 (org.apache.kafka.common.utils.UtilsTest).
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Murmur2_MatchesTheJavaClient(string key, int expected)
    {
        Assert.Equal(expected, unchecked((int)KafkaPartitioning.Murmur2(Encoding.UTF8.GetBytes(key))));
    }

    [Fact]
    public void Crc32_IsTheIeeeChecksum()
    {
        Assert.Equal(0xCBF43926u, KafkaPartitioning.Crc32("123456789"u8));
    }

    [Fact]
    public void Partition_SinglePartition_IsAlwaysZero()
    {
        Assert.Equal(0, KafkaPartitioning.Partition(KafkaKeyPartitioner.Murmur2, "orders", 1));
        Assert.Equal(0, KafkaPartitioning.Partition(KafkaKeyPartitioner.Crc32, "orders", 1));
    }

    [Fact]
    public void Partition_LongAndNonAsciiChannels_HashTheirUtf8Bytes()
    {
        var channel = "chat." + new string('é', 400);
        var bytes = Encoding.UTF8.GetBytes(channel);
        Assert.Equal((int)((KafkaPartitioning.Murmur2(bytes) & 0x7fffffff) % 12), KafkaPartitioning.Partition(KafkaKeyPartitioner.Murmur2, channel, 12));
        Assert.Equal((int)(KafkaPartitioning.Crc32(bytes) % 12), KafkaPartitioning.Partition(KafkaKeyPartitioner.Crc32, channel, 12));
    }

    [Fact]
    public void Epoch_FromTopicId_IsBase36AndFitsACursor()
    {
        var epoch = KafkaEpoch.FromTopicId(new Confluent.Kafka.Uuid(-1, -1));
        Assert.NotNull(epoch);
        Assert.True(Cursors.EventCursor.IsValidEpoch(epoch), epoch);
        Assert.Null(KafkaEpoch.FromTopicId(new Confluent.Kafka.Uuid(0, 0)));
        Assert.NotEqual(KafkaEpoch.FromTopicId(new Confluent.Kafka.Uuid(1, 2)), KafkaEpoch.FromTopicId(new Confluent.Kafka.Uuid(2, 1)));
        Assert.True(Cursors.EventCursor.IsValidEpoch(KafkaEpoch.FromTopicName("edge-events")));
    }
}
