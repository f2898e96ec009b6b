using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Edge.Testing;

/// <summary>Real JWTs for tests: HS256 with a shared secret, RS256 and ES256 with keys made here, and a JWKS file.</summary>
public static class TestTokens
{
    public const string Secret = "test-secret-that-is-long-enough-for-hs256!";
    public const string Issuer = "https://issuer.test";
    public const string Audience = "edge-tests";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static SymmetricSecurityKey SecretKey(string secret = Secret) => new(Encoding.UTF8.GetBytes(secret));

    /// <summary>Settings for a JWT stream <c>/events</c> with the shared secret, issuer and audience.</summary>
    public static (string Key, string? Value)[] JwtStream(string stream = "events", params (string Key, string? Value)[] more)
    {
        var prefix = $"Edge:Streams:{stream}:Auth";
        return
        [
            ($"{prefix}:Mode", "Jwt"),
            ($"{prefix}:Jwt:Secrets:0", Secret),
            ($"{prefix}:Jwt:Issuers:0", Issuer),
            ($"{prefix}:Jwt:Audiences:0", Audience),
            .. more,
        ];
    }

    public static string Create(
        string? sub = "alice",
        object? channels = null,
        object? roles = null,
        string? sid = null,
        TimeSpan? expiresIn = null,
        DateTime? notBefore = null,
        string issuer = Issuer,
        string audience = Audience,
        SecurityKey? key = null,
        string? algorithm = null,
        IDictionary<string, object>? extra = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>();
        if (sub is not null)
        {
            claims["sub"] = sub;
        }

        if (channels is not null)
        {
            claims["channels"] = channels;
        }

        if (roles is not null)
        {
            claims["roles"] = roles;
        }

        if (sid is not null)
        {
            claims["sid"] = sid;
        }

        foreach (var (name, value) in extra ?? new Dictionary<string, object>())
        {
            claims[name] = value;
        }

        var expires = now + (expiresIn ?? TimeSpan.FromMinutes(5));
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = (notBefore ?? now.AddMinutes(-10)) < expires ? notBefore ?? now.AddMinutes(-10) : expires.AddMinutes(-1),
            NotBefore = (notBefore ?? now.AddMinutes(-10)) < expires ? notBefore ?? now.AddMinutes(-10) : expires.AddMinutes(-1),
            Expires = expires,
            SigningCredentials = new SigningCredentials(key ?? SecretKey(), algorithm ?? (key is null or SymmetricSecurityKey ? SecurityAlgorithms.HmacSha256 : key is ECDsaSecurityKey ? SecurityAlgorithms.EcdsaSha256 : SecurityAlgorithms.RsaSha256)),
        };
        return Handler.CreateToken(descriptor);
    }

    /// <summary>An unsigned token (<c>alg: none</c>) with otherwise valid claims.</summary>
    public static string Unsigned(string sub = "alice", object? channels = null)
    {
        var now = DateTimeOffset.UtcNow;
        var header = JsonSerializer.Serialize(new Dictionary<string, object> { ["alg"] = "none", ["typ"] = "JWT" });
        var payload = new Dictionary<string, object>
        {
            ["sub"] = sub,
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["nbf"] = now.AddMinutes(-1).ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
        };
        if (channels is not null)
        {
            payload["channels"] = channels;
        }

        return Base64UrlEncoder.Encode(header) + "." + Base64UrlEncoder.Encode(JsonSerializer.Serialize(payload)) + ".";
    }

    public static RsaSecurityKey NewRsaKey(string kid)
    {
        var rsa = RSA.Create(2048);
        return new RsaSecurityKey(rsa) { KeyId = kid };
    }

    public static ECDsaSecurityKey NewEcKey(string kid)
    {
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new ECDsaSecurityKey(ec) { KeyId = kid };
    }

    /// <summary>Writes the public halves of <paramref name="keys"/> as a JWKS file in a temp folder.</summary>
    public static string WriteJwks(params SecurityKey[] keys)
    {
        var jwks = new { keys = keys.Select(PublicJwk).ToArray() };
        var path = Path.Combine(Path.GetTempPath(), $"edge-jwks-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(jwks));
        return path;
    }

    public static Dictionary<string, string> PublicJwk(SecurityKey key)
    {
        switch (key)
        {
            case RsaSecurityKey rsa:
                var p = rsa.Rsa.ExportParameters(false);
                return new() { ["kty"] = "RSA", ["kid"] = rsa.KeyId, ["use"] = "sig", ["alg"] = "RS256", ["n"] = Base64UrlEncoder.Encode(p.Modulus!), ["e"] = Base64UrlEncoder.Encode(p.Exponent!) };
            case ECDsaSecurityKey ec:
                var q = ec.ECDsa.ExportParameters(false).Q;
                return new() { ["kty"] = "EC", ["kid"] = ec.KeyId, ["use"] = "sig", ["alg"] = "ES256", ["crv"] = "P-256", ["x"] = Base64UrlEncoder.Encode(q.X!), ["y"] = Base64UrlEncoder.Encode(q.Y!) };
            default:
                throw new ArgumentException("Only RSA and EC keys.", nameof(key));
        }
    }

    public static Dictionary<string, string> Bearer(string token) => new() { ["Authorization"] = "Bearer " + token };
}
