namespace Edge.Feed;

/// <summary>
/// Remembers the most recent message ids (bounded), so a message stored twice by a publisher
/// that retried after a lost confirm reaches clients once. Used by the feed's single reader.
/// </summary>
internal sealed class MessageIdDeduplicator(int capacity)
{
    private readonly HashSet<string> _seen = new HashSet<string>(Math.Min(capacity, 1024), StringComparer.Ordinal);
    private readonly Queue<string> _order = new Queue<string>(Math.Min(capacity, 1024));

    /// <summary>True the first time an id is seen (within the capacity), false for a repeat.</summary>
    public bool FirstTime(string messageId)
    {
        if (capacity == 0)
        {
            return true;
        }

        if (!_seen.Add(messageId))
        {
            return false;
        }

        _order.Enqueue(messageId);
        if (_order.Count > capacity)
        {
            _seen.Remove(_order.Dequeue());
        }

        return true;
    }
}
