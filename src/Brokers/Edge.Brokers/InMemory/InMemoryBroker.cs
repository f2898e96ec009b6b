using System.Runtime.CompilerServices;

namespace Edge.Brokers.InMemory;

/// <summary>
/// The embedded broker: no external service, history kept in this process. Every restart is a
/// new epoch, so clients resuming across a restart get the gap signal, never silent loss.
/// </summary>
public sealed class InMemoryBroker : IEventBroker
{
    public const string TypeName = "InMemory";

    private const int BatchSize = 512;

    private readonly InMemoryLog _log;
    private readonly int _lookBackRecords;
    private long[]? _opened;

    /// <param name="log">The storage, possibly shared with other broker instances.</param>
    /// <param name="options">This instance's options (look-back); the log's own options when null.</param>
    public InMemoryBroker(InMemoryLog log, InMemoryBrokerOptions? options = null)
    {
        _log = log;
        _lookBackRecords = (options ?? log.Options).LookBackRecords;
    }

    public string Name => TypeName;

    public BrokerHealth Health => _log.IsAvailable ? BrokerHealth.Available : BrokerHealth.Unavailable("the in-memory log is marked unavailable");

    public Task<LogSnapshot> OpenAsync(CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        var next = _log.GetNextOffsets();
        var start = new long[next.Length];
        for (var p = 0; p < next.Length; p++)
        {
            start[p] = Math.Max(_log.GetEarliestOffset(p), next[p] - _lookBackRecords);
        }

        _opened = start;
        return Task.FromResult(new LogSnapshot(_log.Epoch, next) { FeedStartOffsets = _lookBackRecords > 0 ? start : null });
    }

    public int GetPartition(string channel) => ChannelHash.Partition(channel, _log.PartitionCount);

    public async IAsyncEnumerable<BrokerRecord> SubscribeAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = (long[]?)_opened?.Clone() ?? throw new InvalidOperationException("OpenAsync must complete before SubscribeAsync.");
        var batch = new List<BrokerRecord>(BatchSize);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            batch.Clear();
            var wait = _log.CollectNew(next, batch, BatchSize);
            if (wait is not null)
            {
                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            foreach (var record in batch)
            {
                yield return record;
            }
        }
    }

    public async IAsyncEnumerable<BrokerRecord> ReadAsync(int partition, long fromOffset, long toOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        if ((uint)partition >= (uint)_log.PartitionCount)
        {
            yield break;
        }

        foreach (var record in _log.ReadRange(partition, fromOffset, toOffset))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<long> GetEarliestOffsetAsync(int partition, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        return Task.FromResult((uint)partition < (uint)_log.PartitionCount ? _log.GetEarliestOffset(partition) : 0L);
    }

    public Task<PublishReceipt> PublishAsync(IReadOnlyList<BrokerMessage> messages, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnavailable();
        var records = new (int, string, byte[])[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Body.Length > _log.Options.MaxRecordBytes)
            {
                throw new ArgumentException($"Message {i} is {message.Body.Length} bytes; the in-memory broker accepts at most {_log.Options.MaxRecordBytes}.", nameof(messages));
            }

            records[i] = (GetPartition(message.Channel), message.MessageId, message.Body.ToArray());
        }

        var positions = _log.Append(records);
        var result = new LogPosition?[positions.Length];
        for (var i = 0; i < positions.Length; i++)
        {
            result[i] = positions[i];
        }

        return Task.FromResult(new PublishReceipt(result));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void ThrowIfUnavailable()
    {
        if (!_log.IsAvailable)
        {
            throw new BrokerUnavailableException("The in-memory log is marked unavailable.") { RetryAfter = TimeSpan.FromSeconds(1) };
        }
    }
}
