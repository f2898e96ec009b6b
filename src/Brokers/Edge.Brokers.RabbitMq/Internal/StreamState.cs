namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// What the roles of one broker instance share: the log as last opened, the highest head seen,
/// the last record the live feed yielded, and why the feed is not reading (history lost, or
/// reconnecting). Opening resets it; the live feed advances it; read-backs and health read it.
/// </summary>
internal sealed class StreamState
{
    private volatile OpenedLog? _opened;
    private volatile string? _historyLost;
    private volatile string? _feedProblem;
    private long _knownHead;
    private long _lastYielded = -1;

    /// <summary>Null until the first open completes.</summary>
    public OpenedLog? Opened => _opened;

    /// <summary>Why the history being read was lost; null while it is intact. Only a new open clears it.</summary>
    public string? HistoryLost
    {
        get => _historyLost;
        set => _historyLost = value;
    }

    /// <summary>Why the live feed is reconnecting; null while it reads.</summary>
    public string? FeedProblem
    {
        get => _feedProblem;
        set => _feedProblem = value;
    }

    /// <summary>The highest head this instance knows of: what it found at open, or past the last record it yielded.</summary>
    public long KnownHead => Interlocked.Read(ref _knownHead);

    /// <summary>The offset of the last record the live feed yielded since the open, or -1.</summary>
    public long LastYielded => Interlocked.Read(ref _lastYielded);

    public void Opening(OpenedLog opened, long head)
    {
        _opened = opened;
        _historyLost = null;
        _feedProblem = null;
        Interlocked.Exchange(ref _knownHead, head);
        Interlocked.Exchange(ref _lastYielded, -1);
    }

    public void Yielding(long offset)
    {
        RaiseKnownHead(offset + 1);
        Interlocked.Exchange(ref _lastYielded, offset);
    }

    private void RaiseKnownHead(long head)
    {
        var current = Interlocked.Read(ref _knownHead);
        while (head > current)
        {
            var seen = Interlocked.CompareExchange(ref _knownHead, head, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
