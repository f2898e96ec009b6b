using System.Text;
using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>
/// One live feed: a consumer assigned every partition of the topic (no group membership, no
/// commits) on a dedicated thread, handing records to the subscriber through a bounded
/// channel. It tracks, per partition, the offset after the last record it handed over, and
/// every (re)assignment starts exactly there: after an outage, a fatal consumer error or a
/// partition count change nothing is skipped and nothing repeated.
/// </summary>
internal sealed class KafkaLiveFeed : IAsyncDisposable
{
    public const string MessageIdHeader = "edge-message-id";

    private const int Capacity = 4096;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    private readonly KafkaBroker _broker;
    private readonly string _topic;
    private readonly ILogger _logger;
    private readonly Channel<BrokerRecord> _channel = Channel.CreateBounded<BrokerRecord>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly CancellationTokenSource _stop = new();
    private long[] _next;
    private TopicState _state;
    private Thread? _thread;
    private (int Partition, long Offset, ErrorCode Code) _lastError = (-1, -1, ErrorCode.NoError);

    public KafkaLiveFeed(KafkaBroker broker, string topic, TopicState state, long[] startOffsets, ILogger logger)
    {
        _broker = broker;
        _topic = topic;
        _state = state;
        _next = (long[])startOffsets.Clone();
        _logger = logger;
    }

    public ChannelReader<BrokerRecord> Reader => _channel.Reader;

    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "edge-kafka-feed" };
        _thread.Start();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_thread is not null)
        {
            // The thread notices within one poll interval; a consumer stuck closing is left to finish in the background.
            await Task.Run(() => _thread.Join(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private void Run()
    {
        var token = _stop.Token;
        IConsumer<Ignore, byte[]>? consumer = null;
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (consumer is null)
                {
                    consumer = _broker.Clients.CreateConsumer("feed", partitionEof: false);
                    Assign(consumer);
                    Log.FeedStarted(_logger, _next.Length);
                }

                if (!ReferenceEquals(_broker.State, _state))
                {
                    ApplyTopicChange(_broker.State);
                    Assign(consumer);
                }

                ConsumeResult<Ignore, byte[]>? result;
                try
                {
                    result = consumer.Consume(PollInterval);
                }
                catch (ConsumeException e)
                {
                    if (HandleConsumeError(e))
                    {
                        consumer.Dispose();
                        consumer = null;
                    }

                    continue;
                }
                catch (KafkaException e) when (e.Error.IsFatal)
                {
                    Log.ConsumerRestarted(_logger, KafkaClients.Describe(e.Error));
                    consumer.Dispose();
                    consumer = null;
                    continue;
                }

                if (result is null || result.IsPartitionEOF)
                {
                    continue;
                }

                var partition = result.Partition.Value;
                if ((uint)partition >= (uint)_next.Length)
                {
                    continue;
                }

                var offset = result.Offset.Value;
                if (offset < _next[partition])
                {
                    // Already handed over (a fetch racing a reassignment); never repeat a record.
                    continue;
                }

                _next[partition] = offset + 1;
                var record = ToRecord(result);
                _broker.MarkAvailable();
                if (!_channel.Writer.TryWrite(record))
                {
                    _channel.Writer.WriteAsync(record, token).AsTask().GetAwaiter().GetResult();
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _channel.Writer.TryComplete(e);
            return;
        }
        finally
        {
            consumer?.Dispose();
        }

        _channel.Writer.TryComplete();
    }

    internal static BrokerRecord ToRecord(ConsumeResult<Ignore, byte[]> result)
    {
        string? messageId = null;
        if (result.Message.Headers is { Count: > 0 } headers && headers.TryGetLastBytes(MessageIdHeader, out var idBytes))
        {
            messageId = Encoding.UTF8.GetString(idBytes);
        }

        return new BrokerRecord(
            result.Partition.Value,
            result.Offset.Value,
            DateTimeOffset.FromUnixTimeMilliseconds(result.Message.Timestamp.UnixTimestampMs),
            result.Message.Value ?? [],
            messageId);
    }

    private void Assign(IConsumer<Ignore, byte[]> consumer)
    {
        var assignment = new List<TopicPartitionOffset>(_next.Length);
        for (var p = 0; p < _next.Length; p++)
        {
            assignment.Add(new TopicPartitionOffset(_topic, p, _next[p]));
        }

        consumer.Assign(assignment);
    }

    private void ApplyTopicChange(TopicState state)
    {
        var next = new long[state.PartitionCount];
        if (state.Epoch == _state.Epoch)
        {
            // New partitions hold only records appended after this feed started: read them from their beginning.
            Array.Copy(_next, next, Math.Min(_next.Length, next.Length));
        }

        // A re-created topic (new epoch) is read from its beginning: all of it is new.
        _next = next;
        _state = state;
    }

    /// <summary>
    /// Logs a consumer error once per position and error; returns true when the consumer must be
    /// recreated. The position an error names is where the client is fetching from, the next
    /// record to hand over, not a record known to be unreadable: the feed stays there and the
    /// client retries.
    /// </summary>
    private bool HandleConsumeError(ConsumeException e)
    {
        if (e.Error.IsFatal)
        {
            Log.ConsumerRestarted(_logger, KafkaClients.Describe(e.Error));
            return true;
        }

        var position = e.ConsumerRecord?.TopicPartitionOffset;
        var error = (Partition: position?.Partition.Value ?? -1, Offset: position?.Offset.Value ?? -1, e.Error.Code);
        if (error != _lastError)
        {
            _lastError = error;
            Log.RecordError(_logger, error.Partition, error.Offset, KafkaClients.Describe(e.Error));
        }

        return false;
    }
}
