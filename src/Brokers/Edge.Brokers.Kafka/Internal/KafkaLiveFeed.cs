using System.Runtime.CompilerServices;
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
internal sealed class KafkaLiveFeed(KafkaClients clients, KafkaTopic topic, KafkaAvailability availability, TopicState state, long[] startOffsets, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    private const int Capacity = 4096;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan EpochCheckInterval = TimeSpan.FromSeconds(2);

    private readonly string _startEpoch = state.Epoch;
    private readonly Channel<BrokerRecord> _channel = Channel.CreateBounded<BrokerRecord>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly CancellationTokenSource _stop = new();
    private long[] _next = (long[])startOffsets.Clone();
    private TopicState _state = state;
    private Thread? _thread;
    private (int Partition, long Offset, ErrorCode Code) _lastError = (-1, -1, ErrorCode.NoError);

    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "edge-kafka-feed" };
        _thread.Start();
    }

    /// <summary>
    /// The records in the order the feed thread hands them over; ends with
    /// <see cref="LogHistoryLostException"/> once the topic is seen re-created.
    /// </summary>
    public async IAsyncEnumerable<BrokerRecord> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        Task<bool>? wait = null;
        while (true)
        {
            if (!reader.TryPeek(out _))
            {
                // Wake now and then to notice a re-created topic even when nothing arrives.
                wait ??= reader.WaitToReadAsync(cancellationToken).AsTask();
                if (await Task.WhenAny(wait, Task.Delay(EpochCheckInterval, time, cancellationToken)).ConfigureAwait(false) == wait)
                {
                    var more = await wait.ConfigureAwait(false);
                    wait = null;
                    if (!more)
                    {
                        break;
                    }
                }

                cancellationToken.ThrowIfCancellationRequested();
            }

            if (topic.Current is { } state && !string.Equals(state.Epoch, _startEpoch, StringComparison.Ordinal))
            {
                throw new LogHistoryLostException($"Kafka topic '{topic.Name}' was re-created (topic id epoch {_startEpoch} is now {state.Epoch}).");
            }

            while (reader.TryRead(out var record))
            {
                yield return record;
            }
        }
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
                    consumer = clients.CreateConsumer("feed", partitionEof: false);
                    Assign(consumer);
                    Log.FeedStarted(logger, _next.Length);
                }

                if (!ReferenceEquals(topic.State, _state))
                {
                    ApplyTopicChange(topic.State);
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
                    Log.ConsumerRestarted(logger, KafkaClients.Describe(e.Error));
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
                var record = KafkaRecordFormat.ToRecord(result);
                availability.MarkAvailable();
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

    private void Assign(IConsumer<Ignore, byte[]> consumer)
    {
        var assignment = new List<TopicPartitionOffset>(_next.Length);
        for (var p = 0; p < _next.Length; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic.Name, p, _next[p]));
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
            Log.ConsumerRestarted(logger, KafkaClients.Describe(e.Error));
            return true;
        }

        var position = e.ConsumerRecord?.TopicPartitionOffset;
        var error = (Partition: position?.Partition.Value ?? -1, Offset: position?.Offset.Value ?? -1, e.Error.Code);
        if (error != _lastError)
        {
            _lastError = error;
            Log.RecordError(logger, error.Partition, error.Offset, KafkaClients.Describe(e.Error));
        }

        return false;
    }
}
