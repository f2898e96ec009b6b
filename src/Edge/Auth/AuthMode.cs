namespace Edge.Auth;

/// <summary>How a stream (or the publish API) learns who is connecting.</summary>
public enum AuthMode
{
    /// <summary>No authentication: user and session ids come from the query or headers named by <c>Identity</c>.</summary>
    Anonymous = 0,

    /// <summary>A JSON Web Token from <c>Authorization: Bearer</c>, a query parameter or a cookie.</summary>
    Jwt = 1,

    /// <summary>An auth upstream is asked (nginx <c>auth_request</c> style); its 2xx answer's headers give the identity.</summary>
    Forward = 2,
}
