using System.Security.Cryptography;

namespace Edge.Brokers.InMemory;

/// <summary>
/// The embedded broker's storage: a partitioned, retention-bounded log in this process. Several
/// <see cref="InMemoryBroker"/> instances (several edge hosts in one process, as in tests) may
/// share one log. A new log has a new epoch, so cursors from a previous process are detected.
/// </summary>
public sealed class InMemoryLog
{
    private readonly object _gate = new();
    private readonly Partition[] _partitions;
    private readonly InMemoryBrokerOptions _options;
    private readonly TimeProvider _timeProvider;
    private TaskCompletionSource _appended = NewSignal();
    private volatile bool _available = true;

    public InMemoryLog(InMemoryBrokerOptions options, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Partitions, 1);
        _options = options;
        _timeProvider = timeProvider;
        _partitions = new Partition[options.Partitions];
        for (var i = 0; i < _partitions.Length; i++)
        {
            _partitions[i] = new Partition();
        }

        Epoch = NewEpoch();
    }

    public string Epoch { get; }

    public int PartitionCount => _partitions.Length;

    public InMemoryBrokerOptions Options => _options;

    /// <summary>Lets tests simulate an outage: while false, publishing and reading fail.</summary>
    public bool IsAvailable
    {
        get => _available;
        set => _available = value;
    }

    public long[] GetNextOffsets()
    {
        lock (_gate)
        {
            var next = new long[_partitions.Length];
            for (var i = 0; i < next.Length; i++)
            {
                next[i] = _partitions[i].NextOffset;
            }

            return next;
        }
    }

    internal long GetEarliestOffset(int partition)
    {
        lock (_gate)
        {
            var p = _partitions[partition];
            Trim(p);
            return p.Count == 0 ? p.NextOffset : p.First.Offset;
        }
    }

    /// <summary>Appends all records atomically and returns their positions.</summary>
    internal LogPosition[] Append(IReadOnlyList<(int Partition, string MessageId, byte[] Body)> records)
    {
        var positions = new LogPosition[records.Count];
        TaskCompletionSource signal;
        lock (_gate)
        {
            var now = _timeProvider.GetUtcNow();
            for (var i = 0; i < records.Count; i++)
            {
                var (partition, messageId, body) = records[i];
                var p = _partitions[partition];
                var offset = p.NextOffset++;
                p.Add(new StoredRecord(offset, now, body, messageId));
                positions[i] = new LogPosition(partition, offset);
                Trim(p);
            }

            signal = _appended;
            _appended = NewSignal();
        }

        signal.TrySetResult();
        return positions;
    }

    /// <summary>
    /// Copies records with offset at or above <paramref name="fromOffsets"/> (per partition,
    /// advanced past what is copied) into <paramref name="into"/>; when there are none, returns
    /// a task that completes at the next append.
    /// </summary>
    internal Task? CollectNew(long[] fromOffsets, List<BrokerRecord> into, int max)
    {
        lock (_gate)
        {
            for (var partition = 0; partition < _partitions.Length && into.Count < max; partition++)
            {
                var p = _partitions[partition];
                Trim(p);
                for (var i = p.IndexOf(fromOffsets[partition]); i >= 0 && i < p.Count && into.Count < max; i++)
                {
                    var record = p[i];
                    into.Add(new BrokerRecord(partition, record.Offset, record.Timestamp, record.Body, record.MessageId));
                    fromOffsets[partition] = record.Offset + 1;
                }
            }

            return into.Count == 0 ? _appended.Task : null;
        }
    }

    internal List<BrokerRecord> ReadRange(int partition, long fromOffset, long toOffset)
    {
        var result = new List<BrokerRecord>();
        lock (_gate)
        {
            var p = _partitions[partition];
            Trim(p);
            for (var i = p.IndexOf(fromOffset); i >= 0 && i < p.Count; i++)
            {
                var record = p[i];
                if (record.Offset >= toOffset)
                {
                    break;
                }

                result.Add(new BrokerRecord(partition, record.Offset, record.Timestamp, record.Body, record.MessageId));
            }
        }

        return result;
    }

    private void Trim(Partition p)
    {
        while (p.Count > _options.MaxRecordsPerPartition)
        {
            p.RemoveFirst();
        }

        if (_options.MaxAge > TimeSpan.Zero)
        {
            var oldest = _timeProvider.GetUtcNow() - _options.MaxAge;
            while (p.Count > 0 && p.First.Timestamp < oldest)
            {
                p.RemoveFirst();
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static string NewEpoch()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        var value = BitConverter.ToUInt64(bytes);
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        Span<char> text = stackalloc char[13];
        for (var i = text.Length - 1; i >= 0; i--)
        {
            text[i] = digits[(int)(value % 36)];
            value /= 36;
        }

        return new string(text);
    }

    private readonly record struct StoredRecord(long Offset, DateTimeOffset Timestamp, byte[] Body, string MessageId);

    /// <summary>A partition's retained records: contiguous offsets, oldest first, in a growable ring.</summary>
    private sealed class Partition
    {
        private StoredRecord[] _items = new StoredRecord[64];
        private int _head;

        public long NextOffset { get; set; }

        public int Count { get; private set; }

        public StoredRecord First => _items[_head];

        public StoredRecord this[int index] => _items[(_head + index) % _items.Length];

        public void Add(StoredRecord record)
        {
            if (Count == _items.Length)
            {
                var larger = new StoredRecord[_items.Length * 2];
                for (var i = 0; i < Count; i++)
                {
                    larger[i] = this[i];
                }

                _items = larger;
                _head = 0;
            }

            _items[(_head + Count) % _items.Length] = record;
            Count++;
        }

        public void RemoveFirst()
        {
            _items[_head] = default;
            _head = (_head + 1) % _items.Length;
            Count--;
        }

        /// <summary>The index of the first record at or after <paramref name="offset"/>.</summary>
        public int IndexOf(long offset)
        {
            if (Count == 0)
            {
                return -1;
            }

            var index = offset - First.Offset;
            return index <= 0 ? 0 : index >= Count ? -1 : (int)index;
        }
    }
}
