using Confluent.Kafka;

namespace Edge.Brokers.Kafka.Internal;

/// <summary>Collects the delivery reports of one publish and completes when all have arrived.</summary>
internal sealed class PublishBatch
{
    private readonly LogPosition?[] _positions;
    private readonly TaskCompletionSource<PublishReceipt> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending;
    private Error? _firstError;
    private int _failed;

    public PublishBatch(int count)
    {
        _positions = new LogPosition?[count];
        _pending = count;
    }

    public Task<PublishReceipt> Task => _completion.Task;

    public Error? FirstError => Volatile.Read(ref _firstError);

    public int Failed => Volatile.Read(ref _failed);

    public void Report(int index, DeliveryReport<string, byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.CompareExchange(ref _firstError, report.Error, null);
            Interlocked.Increment(ref _failed);
        }
        else
        {
            _positions[index] = new LogPosition(report.Partition.Value, report.Offset.Value);
        }

        if (Interlocked.Decrement(ref _pending) == 0)
        {
            _completion.TrySetResult(new PublishReceipt(_positions));
        }
    }

    /// <summary>Counts messages that were never handed to the producer as delivered-with-error.</summary>
    public void Abandon(int fromIndex, Error error)
    {
        for (var i = fromIndex; i < _positions.Length; i++)
        {
            Interlocked.CompareExchange(ref _firstError, error, null);
            Interlocked.Increment(ref _failed);
            if (Interlocked.Decrement(ref _pending) == 0)
            {
                _completion.TrySetResult(new PublishReceipt(_positions));
            }
        }
    }
}
