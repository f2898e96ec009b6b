namespace Edge.Diagnostics;

/// <summary>
/// Every log event id of the host, in one place, so operators can filter by id: one range per
/// component. The socket fast path declares 6000-6099 in its own project, the broker plugins theirs
/// in their <c>Internal/Log.cs</c>: RabbitMQ 7000-7099, Kafka 7100-7199.
/// </summary>
internal static class EdgeEventIds
{
    // Hub and broker feed: 1xxx
    public const int BrokerOpened = 1000;
    public const int BrokerOpenFailed = 1001;
    public const int BrokerFeedFailed = 1002;
    public const int MalformedRecord = 1003;
    public const int DuplicateRecord = 1004;
    public const int BrokerReadBackFailed = 1005;
    public const int HubStopped = 1006;
    public const int HistoryLost = 1007;
    public const int BrokerUnavailable = 1008;
    public const int BrokerAvailable = 1009;

    // Streams: 2xxx
    public const int StreamOpened = 2000;
    public const int StreamClosed = 2001;
    public const int SlowConsumerClosed = 2002;
    public const int StreamRejected = 2003;
    public const int GapSignalled = 2004;
    public const int StreamsEnded = 2005;
    public const int StreamEndedByControl = 2006;

    // Publish API: 3xxx
    public const int Published = 3000;
    public const int PublishRejected = 3001;
    public const int PublishBrokerUnavailable = 3002;
    public const int PublishUnauthorized = 3003;

    // Hosting: 4xxx
    public const int Draining = 4002;

    // Admin calls: 40xx
    public const int EndStreamsRequested = 4010;
    public const int AdminUnauthorized = 4011;

    // TLS: 41xx
    public const int TlsCertificateLoaded = 4100;
    public const int TlsCertificateReloaded = 4101;
    public const int TlsCertificateReloadFailed = 4102;
    public const int TlsReloadCheckFailed = 4103;
    public const int TlsIdleBuffersUnavailable = 4104;
    public const int TlsIdleBuffersNotSet = 4105;
    public const int TlsIdleBuffersBound = 4106;

    // Auth, limits, rate limiting, CORS: 5xxx
    public const int AuthRefused = 5000;
    public const int AuthUpstreamFailed = 5001;
    public const int JwksLoaded = 5002;
    public const int JwksFailed = 5003;
    public const int ConnectionLimitRefused = 5004;
    public const int ConnectionReplaced = 5005;
    public const int RateLimited = 5006;
    public const int TokenExpiredClosed = 5007;
    public const int RateLimitPoliciesReloaded = 5008;
    public const int RateLimitReloadRejected = 5009;
    public const int CorsReloadRejected = 5010;
    public const int ChannelRefused = 5011;
    public const int RequestRefused = 5012;
    public const int RequestRateLimited = 5013;
}
