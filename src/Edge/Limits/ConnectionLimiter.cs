using Edge.Configuration;
using Microsoft.Extensions.Options;

namespace Edge.Limits;

/// <summary>
/// Counts open streams globally, per anonymous IP, per user and per user on each stream. Every
/// check and increment happens under one lock, so counts are exact under concurrent connects;
/// a lease gives its slot back exactly once, however the stream ends.
/// </summary>
internal sealed class ConnectionLimiter
{
    private readonly object _gate = new();
    private readonly ConnectionLimitOptions _options;
    private readonly Dictionary<string, int> _perIp = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkedList<ConnectionLease>> _perUser = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Stream, string User), LinkedList<ConnectionLease>> _perUserStream = [];
    private int _total;

    public ConnectionLimiter(IOptions<EdgeOptions> options)
    {
        _options = options.Value.Limits;
    }

    public ConnectionLimitOptions Options => _options;

    /// <summary>Open streams counted now (tests and metrics).</summary>
    public (int Total, int Ips, int Users, int UserStreams) Counts
    {
        get
        {
            lock (_gate)
            {
                return (_total, _perIp.Count, _perUser.Count, _perUserStream.Count);
            }
        }
    }

    /// <summary>
    /// Admits a stream or says which limit refuses it. With <see cref="LimitPolicy.CloseOldest"/>
    /// a user at a per-user limit gets the slot of their oldest stream, which is closed.
    /// </summary>
    public LimitDecision TryAcquire(string stream, string? userId, string? ip, int maxPerUserOnStream, LimitPolicy atLimit, out ConnectionLease? lease)
    {
        lease = null;
        List<ConnectionLease>? evicted = null;
        lock (_gate)
        {
            if (_options.MaxConnections > 0 && _total >= _options.MaxConnections)
            {
                return LimitDecision.GlobalLimit;
            }

            if (userId is null)
            {
                var ipKey = ip ?? "unknown";
                _perIp.TryGetValue(ipKey, out var count);
                if (_options.MaxConnectionsPerIp > 0 && count >= _options.MaxConnectionsPerIp)
                {
                    return LimitDecision.IpLimit;
                }

                _perIp[ipKey] = count + 1;
                _total++;
                lease = new ConnectionLease(this, stream, null, ipKey);
                return LimitDecision.Admitted;
            }

            _perUserStream.TryGetValue((stream, userId), out var onStream);
            _perUser.TryGetValue(userId, out var acrossStreams);
            var streamFull = maxPerUserOnStream > 0 && onStream is not null && onStream.Count >= maxPerUserOnStream;
            var userFull = _options.MaxConnectionsPerUser > 0 && acrossStreams is not null && acrossStreams.Count >= _options.MaxConnectionsPerUser;
            if (streamFull || userFull)
            {
                if (atLimit == LimitPolicy.Reject)
                {
                    return streamFull ? LimitDecision.UserStreamLimit : LimitDecision.UserLimit;
                }

                evicted = [];
                while (maxPerUserOnStream > 0 && onStream is { Count: > 0 } && onStream.Count >= maxPerUserOnStream)
                {
                    var oldest = onStream.First!.Value;
                    ReleaseLocked(oldest);
                    evicted.Add(oldest);
                }

                while (_options.MaxConnectionsPerUser > 0 && _perUser.TryGetValue(userId, out acrossStreams) && acrossStreams.Count >= _options.MaxConnectionsPerUser)
                {
                    var oldest = acrossStreams.First!.Value;
                    ReleaseLocked(oldest);
                    evicted.Add(oldest);
                }
            }

            lease = new ConnectionLease(this, stream, userId, null);
            if (!_perUser.TryGetValue(userId, out acrossStreams))
            {
                _perUser[userId] = acrossStreams = new LinkedList<ConnectionLease>();
            }

            if (!_perUserStream.TryGetValue((stream, userId), out onStream))
            {
                _perUserStream[(stream, userId)] = onStream = new LinkedList<ConnectionLease>();
            }

            lease.UserNode = acrossStreams.AddLast(lease);
            lease.StreamNode = onStream.AddLast(lease);
            _total++;
        }

        if (evicted is not null)
        {
            foreach (var victim in evicted)
            {
                victim.Evict();
            }
        }

        return LimitDecision.Admitted;
    }

    internal void Release(ConnectionLease lease)
    {
        lock (_gate)
        {
            ReleaseLocked(lease);
        }
    }

    private void ReleaseLocked(ConnectionLease lease)
    {
        if (lease.Released)
        {
            return;
        }

        lease.Released = true;
        _total--;
        if (lease.Ip is { } ip)
        {
            if (_perIp[ip] <= 1)
            {
                _perIp.Remove(ip);
            }
            else
            {
                _perIp[ip]--;
            }

            return;
        }

        var user = lease.UserId!;
        if (lease.UserNode is { List: { } userList } userNode)
        {
            userList.Remove(userNode);
            if (userList.Count == 0)
            {
                _perUser.Remove(user);
            }
        }

        if (lease.StreamNode is { List: { } streamList } streamNode)
        {
            streamList.Remove(streamNode);
            if (streamList.Count == 0)
            {
                _perUserStream.Remove((lease.Stream, user));
            }
        }
    }
}

/// <summary>What <see cref="ConnectionLimiter.TryAcquire"/> decided.</summary>
internal enum LimitDecision
{
    Admitted = 0,
    GlobalLimit = 1,
    IpLimit = 2,
    UserLimit = 3,
    UserStreamLimit = 4,
}
