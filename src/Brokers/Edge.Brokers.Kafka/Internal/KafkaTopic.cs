using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// The topic that is the log, through the admin client: described (and created when allowed)
/// when the broker opens, then described again periodically, so that its partition count, its
/// epoch (the topic id) and Kafka's reachability stay current.
/// </summary>
internal sealed class KafkaTopic(KafkaBrokerOptions options, KafkaClients clients, KafkaAvailability availability, TimeProvider time, ILogger logger) : IDisposable
{
    private static readonly TimeSpan UnavailableRefreshInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AdminReplySlack = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CreatedTopicPollInterval = TimeSpan.FromMilliseconds(200);

    private IAdminClient? _admin;
    private volatile TopicState? _state;

    public string Name => options.Topic;

    /// <summary>The topic as last described; null until the broker has opened.</summary>
    public TopicState? Current => _state;

    public TopicState State => _state ?? throw new InvalidOperationException("OpenAsync must complete first.");

    public void Connect() => _admin ??= clients.CreateAdmin();

    /// <summary>
    /// Takes what an open described as the current state and returns the current state. An
    /// equal description keeps the instance already current: live feeds compare states by reference.
    /// </summary>
    public TopicState Adopt(TopicState described)
    {
        if (_state != described)
        {
            _state = described;
        }

        return State;
    }

    public async Task<TopicState> DescribeOrCreateAsync(CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + options.RequestTimeout;
        var created = false;
        while (true)
        {
            if (await DescribeAsync(cancellationToken).ConfigureAwait(false) is { } state)
            {
                return state;
            }

            if (!options.CreateTopic)
            {
                throw new BrokerUnavailableException($"Kafka topic '{options.Topic}' does not exist and Edge:Broker:Kafka:CreateTopic is false.");
            }

            if (!created)
            {
                created = true;
                await CreateAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new BrokerUnavailableException($"Kafka topic '{options.Topic}' was created but its metadata did not appear in time.");
            }

            // A created topic takes a moment to appear in every broker's metadata.
            await Task.Delay(CreatedTopicPollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Re-reads the topic's metadata until <paramref name="cancellationToken"/> ends it; more often while Kafka is unavailable.</summary>
    public async Task RefreshLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var interval = availability.Health.IsAvailable || options.MetadataRefreshInterval < UnavailableRefreshInterval
                ? options.MetadataRefreshInterval
                : UnavailableRefreshInterval;
            try
            {
                await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false);
                await RefreshAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KafkaException or TimeoutException)
            {
                var reason = e is KafkaException k ? KafkaClients.Describe(k.Error) : "metadata request timed out";
                Log.MetadataRefreshFailed(logger, options.Topic, reason);
                availability.MarkUnavailable(reason);
            }
        }
    }

    public void Dispose() => _admin?.Dispose();

    /// <summary>Re-reads the topic's metadata now: partition count, topic id (epoch), reachability.</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var current = _state;
        var fresh = await DescribeAsync(cancellationToken).ConfigureAwait(false);
        if (fresh is null)
        {
            availability.MarkUnavailable($"the topic '{options.Topic}' does not exist");
            return;
        }

        availability.MarkAvailable();
        if (current is null)
        {
            return;
        }

        if (fresh.Epoch != current.Epoch)
        {
            Log.TopicRecreated(logger, options.Topic, current.Epoch, fresh.Epoch);
            _state = fresh;
        }
        else if (fresh.PartitionCount != current.PartitionCount)
        {
            Log.PartitionsChanged(logger, options.Topic, fresh.PartitionCount, current.PartitionCount);
            _state = fresh;
        }
    }

    /// <summary>Describes the topic; null when it does not exist.</summary>
    private async Task<TopicState?> DescribeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await _admin!.DescribeTopicsAsync(
                    TopicCollection.OfTopicNames([options.Topic]),
                    new DescribeTopicsOptions { RequestTimeout = options.RequestTimeout })
                .WaitAsync(options.RequestTimeout + AdminReplySlack, time, cancellationToken)
                .ConfigureAwait(false);
            var description = result.TopicDescriptions[0];
            var epoch = KafkaEpoch.FromTopicId(description.TopicId)
                ?? (string.IsNullOrEmpty(options.Epoch) ? KafkaEpoch.FromTopicName(options.Topic) : options.Epoch);
            return new TopicState(epoch, description.Partitions.Count);
        }
        catch (DescribeTopicsException e) when (e.Results.TopicDescriptions.Count > 0 && e.Results.TopicDescriptions[0].Error.Code == ErrorCode.UnknownTopicOrPart)
        {
            return null;
        }
    }

    private async Task CreateAsync(CancellationToken cancellationToken)
    {
        var specification = new TopicSpecification
        {
            Name = options.Topic,
            NumPartitions = options.Partitions,
            ReplicationFactor = options.ReplicationFactor,
        };
        if (options.RetentionMs != 0)
        {
            specification.Configs = new Dictionary<string, string> { ["retention.ms"] = options.RetentionMs.ToString(CultureInfo.InvariantCulture) };
        }

        try
        {
            await _admin!.CreateTopicsAsync([specification], new CreateTopicsOptions { RequestTimeout = options.RequestTimeout, OperationTimeout = options.RequestTimeout })
                .WaitAsync(options.RequestTimeout + AdminReplySlack, time, cancellationToken)
                .ConfigureAwait(false);
            Log.TopicCreated(logger, options.Topic, options.Partitions);
        }
        catch (CreateTopicsException e) when (e.Results.Count > 0 && e.Results[0].Error.Code == ErrorCode.TopicAlreadyExists)
        {
        }
        catch (CreateTopicsException e)
        {
            var reason = e.Results.Count > 0 ? KafkaClients.Describe(e.Results[0].Error) : e.Message;
            Log.CreateTopicFailed(logger, options.Topic, reason);
            throw new BrokerUnavailableException($"Kafka topic '{options.Topic}' could not be created: {reason}", e);
        }
        catch (KafkaException e)
        {
            Log.CreateTopicFailed(logger, options.Topic, KafkaClients.Describe(e.Error));
            throw new BrokerUnavailableException($"Kafka topic '{options.Topic}' could not be created: {e.Error.Reason}", e);
        }
    }
}
