namespace Edge.Auth;

/// <summary>The answer of an auth step: an identity, or a refusal with its status.</summary>
internal sealed record AuthOutcome(EdgeIdentity? Identity, int Status, string? Reason, string? Detail, string? WwwAuthenticate = null)
{
    public bool Succeeded => Identity is not null;

    public static AuthOutcome Success(EdgeIdentity identity) => new(identity, StatusCodes.Status200OK, null, null);

    public static AuthOutcome Fail(int status, string reason, string detail, string? wwwAuthenticate = null) => new(null, status, reason, detail, wwwAuthenticate);
}
