namespace Edge.Transports.Sockets;

/// <summary>
/// An epoll instance and the eventfd that wakes its waiting thread (registered with data 0). Both
/// descriptors are closed once, by the waiting thread when it is done; every registration,
/// removal and wake-up from any thread takes the same lock and does nothing after that, because a
/// closed descriptor's number may already belong to another file.
/// </summary>
internal sealed class EpollInstance
{
    private readonly Lock _gate = new();
    private readonly int _epoll;
    private readonly int _wakeUp;
    private bool _closed;

    public EpollInstance()
    {
        _epoll = Epoll.Create();
        _wakeUp = Epoll.CreateWakeUp();
        Epoll.Add(_epoll, _wakeUp, Epoll.In, 0);
    }

    /// <summary>Watches <paramref name="fd"/>; false when it cannot be added or the instance is closed.</summary>
    public bool TryAdd(int fd, uint events, nint data) => TryAdd<object?>(fd, events, data, null, null);

    /// <summary>Watches <paramref name="fd"/> and, if it was added, runs <paramref name="whileOpen"/> under the lock (so that the waiting thread's last look after <see cref="Close"/> sees what it did).</summary>
    public bool TryAdd<TState>(int fd, uint events, nint data, Action<TState>? whileOpen, TState state)
    {
        lock (_gate)
        {
            if (_closed || !Epoll.Add(_epoll, fd, events, data))
            {
                return false;
            }

            whileOpen?.Invoke(state);
            return true;
        }
    }

    /// <summary>Stops watching <paramref name="fd"/>, before it is closed.</summary>
    public void Remove(int fd) => TryRemove<object?>(fd, null, null);

    /// <summary>Stops watching <paramref name="fd"/> (before it is closed) and runs <paramref name="whileOpen"/> under the lock; false, with nothing run, once the instance is closed.</summary>
    public bool TryRemove<TState>(int fd, Action<TState>? whileOpen, TState state)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            Epoll.Remove(_epoll, fd);
            whileOpen?.Invoke(state);
            return true;
        }
    }

    /// <summary>Makes the current or next <see cref="Wait"/> return.</summary>
    public void WakeUp()
    {
        lock (_gate)
        {
            if (!_closed)
            {
                Epoll.Signal(_wakeUp);
            }
        }
    }

    /// <summary>Waits for events (see <see cref="Epoll.Wait"/>); a wake-up is drained and reported as an event with data 0.</summary>
    public unsafe int Wait(Epoll.Event* events, int max, int timeoutMilliseconds)
    {
        var count = Epoll.Wait(_epoll, events, max, timeoutMilliseconds);
        for (var i = 0; i < count; i++)
        {
            if (events[i].Data == 0)
            {
                Epoll.Drain(_wakeUp);
            }
        }

        return count;
    }

    /// <summary>Closes both descriptors; called once, by the thread that waits.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            Epoll.Close(_epoll);
            Epoll.Close(_wakeUp);
        }
    }
}
