namespace Edge.Brokers.RabbitMq;

/// <summary>Options of the RabbitMQ broker (<c>Edge:Broker:RabbitMq</c>). Every default is documented in docs/rabbitmq.md.</summary>
public sealed record RabbitMqBrokerOptions
{
    /// <summary>AMQP URI of the node (<c>amqp://</c> or <c>amqps://</c>), credentials included. Default <c>amqp://guest:guest@localhost:5672/</c>.</summary>
    public string Uri { get; set; } = "amqp://guest:guest@localhost:5672/";

    /// <summary>Virtual host; null takes it from <see cref="Uri"/> (whose default is <c>/</c>).</summary>
    public string? VirtualHost { get; set; }

    /// <summary>Connection name shown by the management UI. Default <c>edge</c>.</summary>
    public string ClientName { get; set; } = "edge";

    /// <summary>The stream queue that is the log. Default <c>edge-events</c>.</summary>
    public string StreamName { get; set; } = "edge-events";

    /// <summary>Declare the stream (and <see cref="Exchange"/>) when missing. Default true; false requires them to exist.</summary>
    public bool DeclareStream { get; set; } = true;

    /// <summary>
    /// A fanout exchange bound to the stream, declared with it, for publishers that only know
    /// exchanges. Default <c>edge-events</c>; empty declares none.
    /// </summary>
    public string Exchange { get; set; } = "edge-events";

    /// <summary>Retention by age (<c>x-max-age</c>, whole seconds). Default one day; zero keeps records regardless of age.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Retention by size (<c>x-max-length-bytes</c>). Default 5,000,000,000; zero means no size limit.</summary>
    public long MaxLengthBytes { get; set; } = 5_000_000_000;

    /// <summary>Segment size (<c>x-stream-max-segment-size-bytes</c>): retention drops whole segments. Default 100,000,000; zero uses the broker's default (500 MB).</summary>
    public long MaxSegmentSizeBytes { get; set; } = 100_000_000;

    /// <summary>Consumer prefetch (credit) of the live reader and of each read-back. Default 1000; 1 to 65535.</summary>
    public int Prefetch { get; set; } = 1000;

    /// <summary>Where the live feed starts: the head (default) or earlier, to warm the replay window.</summary>
    public RabbitMqLookBackOptions LookBack { get; set; } = new();

    /// <summary>TLS settings; TLS is also enabled by an <c>amqps://</c> URI.</summary>
    public RabbitMqTlsOptions Tls { get; set; } = new();

    /// <summary>First delay before reconnecting after a connection loss. Default 200 ms.</summary>
    public TimeSpan ReconnectDelayMin { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay between reconnection attempts (the delay doubles up to it). Default 10 s.</summary>
    public TimeSpan ReconnectDelayMax { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most read-backs (replays of old cursors) running at once per instance. Default 4.</summary>
    public int ReplayConcurrency { get; set; } = 4;

    /// <summary>How long a read-back waits without a record before it ends. Default 1 s.</summary>
    public TimeSpan ReadIdleTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for the broker's confirms of one publish. Default 5 s; then <see cref="BrokerUnavailableException"/>.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>TCP connect and AMQP handshake timeout. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>AMQP heartbeat: a dead connection is noticed within about twice this. Default 10 s.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(10);
}
