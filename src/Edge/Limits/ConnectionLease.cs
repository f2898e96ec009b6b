namespace Edge.Limits;

/// <summary>One admitted stream's slot. Disposing gives it back (once); eviction closes the stream it is attached to.</summary>
internal sealed class ConnectionLease : IDisposable
{
    private readonly ConnectionLimiter _limiter;
    private Action<object>? _onEvicted;
    private object? _onEvictedState;
    private int _evicted;

    public ConnectionLease(ConnectionLimiter limiter, string stream, string? userId, string? ip)
    {
        _limiter = limiter;
        Stream = stream;
        UserId = userId;
        Ip = ip;
    }

    public string Stream { get; }

    public string? UserId { get; }

    public string? Ip { get; }

    /// <summary>Set and read under the limiter's lock.</summary>
    internal bool Released { get; set; }

    internal LinkedListNode<ConnectionLease>? UserNode { get; set; }

    internal LinkedListNode<ConnectionLease>? StreamNode { get; set; }

    public bool WasEvicted => Volatile.Read(ref _evicted) == 1;

    /// <summary>Says what closes the stream when a newer one of the same user takes this slot; runs at once if that already happened.</summary>
    public void OnEvicted(Action<object> close, object state)
    {
        _onEvictedState = state;
        Volatile.Write(ref _onEvicted, close);
        if (WasEvicted)
        {
            RunOnEvicted();
        }
    }

    internal void Evict()
    {
        Volatile.Write(ref _evicted, 1);
        RunOnEvicted();
    }

    private void RunOnEvicted()
    {
        if (Interlocked.Exchange(ref _onEvicted, null) is { } close)
        {
            close(_onEvictedState!);
        }
    }

    public void Dispose() => _limiter.Release(this);
}
