using System.Threading.RateLimiting;
using Edge.Connections;
using Edge.Limits;
using Edge.Subscribing;

namespace Edge.Auth;

/// <summary>The answer of <see cref="StreamAccess"/>: a refusal, or an admission with what the open stream holds until it ends.</summary>
internal sealed class StreamAccessGrant(TimeProvider timeProvider) : IDisposable
{
    private RateLimitLease? _permit;
    private ConnectionLease? _lease;
    private ITimer? _expiry;
    private EdgeIdentity? _identity;
    private bool _closeAtExpiry;

    public StreamRefusal? Refusal { get; private set; }

    public StreamAdmission? Admission { get; private set; }

    internal StreamAccessGrant Refuse(StreamRefusal refusal)
    {
        Refusal = refusal;
        Dispose();
        return this;
    }

    internal void HoldPermit(RateLimitLease permit) => _permit = permit;

    internal void Admit(StreamAdmission admission, EdgeIdentity identity, ConnectionLease lease, bool closeAtExpiry)
    {
        Admission = admission;
        _identity = identity;
        _lease = lease;
        _closeAtExpiry = closeAtExpiry;
    }

    /// <summary>Ties the open connection to its slot (closed if a newer stream takes it) and to its credentials' expiry.</summary>
    public void Attach(SseConnection connection)
    {
        _lease?.OnEvicted(static state => ((SseConnection)state).Close(CloseReason.Replaced), connection);
        if (_closeAtExpiry && _identity?.ExpiresAt is { } expires)
        {
            var due = expires - timeProvider.GetUtcNow();
            if (due <= TimeSpan.Zero)
            {
                connection.Close(CloseReason.TokenExpired);
            }
            else
            {
                _expiry = timeProvider.CreateTimer(static state => ((SseConnection)state!).Close(CloseReason.TokenExpired), connection, due, Timeout.InfiniteTimeSpan);
            }
        }
    }

    public void Dispose()
    {
        _expiry?.Dispose();
        _expiry = null;
        _lease?.Dispose();
        _lease = null;
        _permit?.Dispose();
        _permit = null;
    }
}
