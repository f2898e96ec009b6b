namespace Edge.Feed;

/// <summary>An <c>end-streams</c> control record read from the log: close every stream of this user or this session.</summary>
internal sealed record StreamEnding(string? UserId, string? SessionId, int Partition, long Offset);
