using System.Text;

namespace Edge.Brokers.Kafka;

/// <summary>Options of the Kafka broker (<c>Edge:Broker:Kafka</c>). Every default is documented in docs/kafka.md.</summary>
public sealed record KafkaBrokerOptions
{
    /// <summary>Comma-separated <c>host:port</c> list of brokers. Required.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>The topic that is the log. Default <c>edge-events</c>.</summary>
    public string Topic { get; set; } = "edge-events";

    /// <summary>Create the topic when it does not exist. Default true.</summary>
    public bool CreateTopic { get; set; } = true;

    /// <summary>Partitions of a topic the edge creates. Default 12. An existing topic keeps its own count.</summary>
    public int Partitions { get; set; } = 12;

    /// <summary>Replication factor of a topic the edge creates; -1 means the cluster's default. Default -1.</summary>
    public short ReplicationFactor { get; set; } = -1;

    /// <summary>
    /// <c>retention.ms</c> of a topic the edge creates; 0 means the cluster's default, -1 keeps
    /// records forever. Default 0.
    /// </summary>
    public long RetentionMs { get; set; }

    /// <summary>
    /// How the producer picks a partition from the key (the channel), and so how
    /// <see cref="IEventBroker.GetPartition"/> computes it. Default <see cref="KafkaKeyPartitioner.Murmur2"/>
    /// (what Java clients use); every publisher writing to the topic must use the same.
    /// </summary>
    public KafkaKeyPartitioner Partitioner { get; set; } = KafkaKeyPartitioner.Murmur2;

    /// <summary>
    /// Warm-up on start: the live feed begins this far back in time instead of at the end
    /// (located with the broker's time index; see <see cref="LookBackRecords"/> for clusters
    /// without one). Zero starts at the end. Default zero.
    /// </summary>
    public TimeSpan LookBack { get; set; }

    /// <summary>
    /// Warm-up by count: the live feed begins this many records before the end of each
    /// partition. Used alone when <see cref="LookBack"/> is zero, and as the fallback when the
    /// cluster cannot locate <see cref="LookBack"/> by time. Zero disables it. Default zero.
    /// </summary>
    public long LookBackRecords { get; set; }

    /// <summary>Read-backs (resumes older than the memory window) running at once. Default 4.</summary>
    public int ReplayConcurrency { get; set; } = 4;

    /// <summary>
    /// Longest wait for the delivery reports of a publish (librdkafka <c>message.timeout.ms</c>);
    /// after it the publish fails with a 503. Default 10 s.
    /// </summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the producer waits to batch records (<c>linger.ms</c>). Default 5 ms.</summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Timeout of metadata, watermark and admin requests. Default 10 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for the next record of a read-back before it fails with a 503. Default 10 s.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the topic's metadata is re-read (new partitions, re-created topic, health). Default 30 s.</summary>
    public TimeSpan MetadataRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The epoch to report when the cluster has no topic ids (Kafka before 2.8). Change it
    /// whenever the topic is re-created. Default empty: derived from the topic name.
    /// </summary>
    public string? Epoch { get; set; }

    /// <summary><c>security.protocol</c>: Plaintext, Ssl, SaslPlaintext or SaslSsl. Default empty (plaintext).</summary>
    public string? SecurityProtocol { get; set; }

    /// <summary><c>sasl.mechanism</c>, e.g. PLAIN, SCRAM-SHA-256, SCRAM-SHA-512. Default empty.</summary>
    public string? SaslMechanism { get; set; }

    /// <summary><c>sasl.username</c>. Never logged.</summary>
    public string? SaslUsername { get; set; }

    /// <summary><c>sasl.password</c>. Never logged.</summary>
    public string? SaslPassword { get; set; }

    /// <summary><c>ssl.ca.location</c>: a CA certificate file to trust. Default empty (system store).</summary>
    public string? SslCaLocation { get; set; }

    /// <summary>
    /// Further librdkafka properties for every client the edge creates (e.g.
    /// <c>ssl.certificate.location</c>, <c>client.rack</c>). Values are never logged. Keys the
    /// edge sets itself (such as <c>enable.idempotence</c>, <c>acks</c>, <c>partitioner</c>) are refused.
    /// </summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Prints the options without credentials or property values, so logging them is safe.</summary>
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("BootstrapServers = ").Append(BootstrapServers)
            .Append(", Topic = ").Append(Topic)
            .Append(", CreateTopic = ").Append(CreateTopic)
            .Append(", Partitions = ").Append(Partitions)
            .Append(", ReplicationFactor = ").Append(ReplicationFactor)
            .Append(", RetentionMs = ").Append(RetentionMs)
            .Append(", Partitioner = ").Append(Partitioner)
            .Append(", LookBack = ").Append(LookBack)
            .Append(", LookBackRecords = ").Append(LookBackRecords)
            .Append(", ReplayConcurrency = ").Append(ReplayConcurrency)
            .Append(", PublishTimeout = ").Append(PublishTimeout)
            .Append(", Linger = ").Append(Linger)
            .Append(", RequestTimeout = ").Append(RequestTimeout)
            .Append(", ReadTimeout = ").Append(ReadTimeout)
            .Append(", MetadataRefreshInterval = ").Append(MetadataRefreshInterval)
            .Append(", Epoch = ").Append(Epoch)
            .Append(", SecurityProtocol = ").Append(SecurityProtocol)
            .Append(", SaslMechanism = ").Append(SaslMechanism)
            .Append(", SaslUsername = ").Append(string.IsNullOrEmpty(SaslUsername) ? "" : "***")
            .Append(", SaslPassword = ").Append(string.IsNullOrEmpty(SaslPassword) ? "" : "***")
            .Append(", SslCaLocation = ").Append(SslCaLocation)
            .Append(", Properties = [").AppendJoin(", ", Properties.Keys).Append(']');
        return true;
    }
}
