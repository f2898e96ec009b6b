using System.Security.Cryptography;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// The epoch of the stream lives beside it, in a durable classic queue
/// <c>{stream}.edge-epoch</c> holding one persistent message (<c>x-max-length: 1</c>, so a new
/// entry replaces the old): <c>{"epoch":"…","head":N}</c>, where <c>head</c> is the highest head
/// any edge has observed. Every decision about the epoch is made under a broker-side lock, the
/// exclusive queue <c>{stream}.edge-epoch-lock</c> (only one connection can declare it; it
/// vanishes with its connection), so edges starting together agree on one epoch.
/// A new epoch is written when the edge creates the stream, when there is no entry, and when
/// the stream's head is below the recorded one (it was deleted and re-created behind our back).
/// </summary>
internal sealed class EpochStore(string stream)
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(15);

    private readonly string _queue = stream + ".edge-epoch";
    private readonly string _lockQueue = stream + ".edge-epoch-lock";

    public string QueueName => _queue;

    /// <summary>Takes the lock; dispose the result to release it.</summary>
    public async Task<EpochLock> LockAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                await channel.QueueDeclareAsync(_lockQueue, durable: false, exclusive: true, autoDelete: true, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
                return new EpochLock(channel, _lockQueue);
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.ResourceLocked)
            {
                await StreamTopology.CloseQuietlyAsync(channel).ConfigureAwait(false);
                if (DateTime.UtcNow - started > LockTimeout)
                {
                    throw new BrokerUnavailableException($"The epoch lock '{_lockQueue}' stayed taken for {LockTimeout.TotalSeconds:0} s.", ex);
                }

                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next(20)), cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(500).Ticks));
            }
            catch
            {
                await StreamTopology.CloseQuietlyAsync(channel).ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>Reads the entry without consuming it (get, then requeue). Call under the lock.</summary>
    public async Task<EpochEntry?> ReadAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await DeclareAsync(channel, cancellationToken).ConfigureAwait(false);
            var result = await channel.BasicGetAsync(_queue, autoAck: false, cancellationToken).ConfigureAwait(false);
            if (result is null)
            {
                return null;
            }

            var entry = Parse(result.Body.Span);
            await channel.BasicNackAsync(result.DeliveryTag, multiple: false, requeue: true, cancellationToken).ConfigureAwait(false);
            return entry;
        }
        finally
        {
            await StreamTopology.CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    /// <summary>Replaces the entry, waiting for the broker's confirm. Call under the lock.</summary>
    public async Task WriteAsync(IConnection connection, EpochEntry entry, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
        try
        {
            await DeclareAsync(channel, cancellationToken).ConfigureAwait(false);
            var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["epoch"] = entry.Epoch, ["head"] = entry.Head });
            var properties = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
            await channel.BasicPublishAsync(string.Empty, _queue, mandatory: true, properties, body, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await StreamTopology.CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the entry queue (tests, and operators resetting a stream by hand).</summary>
    public async Task DeleteAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.QueueDeleteAsync(_queue, ifUnused: false, ifEmpty: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await StreamTopology.CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    /// <summary>A fresh epoch: 16 random characters from [0-9a-z].</summary>
    public static string NewEpoch() => RandomNumberGenerator.GetString("0123456789abcdefghijklmnopqrstuvwxyz", 16);

    internal static EpochEntry? Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("epoch", out var epoch) && epoch.ValueKind == JsonValueKind.String
                && Cursors.EventCursor.IsValidEpoch(epoch.GetString())
                && root.TryGetProperty("head", out var head) && head.TryGetInt64(out var headValue) && headValue >= 0)
            {
                return new EpochEntry(epoch.GetString()!, headValue);
            }
        }
        catch (JsonException)
        {
            // A foreign or damaged entry counts as none: a new epoch replaces it.
        }

        return null;
    }

    private Task DeclareAsync(IChannel channel, CancellationToken cancellationToken) =>
        channel.QueueDeclareAsync(_queue, durable: true, exclusive: false, autoDelete: false, new Dictionary<string, object?> { ["x-max-length"] = 1, ["x-queue-type"] = "classic" }, cancellationToken: cancellationToken);
}
