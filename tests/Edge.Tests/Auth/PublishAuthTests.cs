using System.Net;
using Edge.Testing;
using Edge.Tests.Functional;
using Xunit;
using static Edge.Tests.Auth.AuthAssert;

namespace Edge.Tests.Auth;

[Trait("Category", "Identity")]
public sealed class PublishAuthTests
{
    private static Task<EdgeTestHost> StartAsync() => EdgeTestHost.StartAsync(TestSettings.Default(
        ("Edge:Publish:Jwt:Secrets:0", TestTokens.Secret),
        ("Edge:Publish:Jwt:Audiences:0", TestTokens.Audience),
        ("Edge:Publish:JwtRole", "publisher")));

    [Fact]
    public async Task ApiKey_StillPublishes_AndAJwtWithThePublisherRoleToo()
    {
        await using var edge = await StartAsync();
        using (var byKey = await edge.PublishAsync("""{"channel":"c","data":"x"}"""))
        {
            Assert.Equal(HttpStatusCode.Accepted, byKey.StatusCode);
        }

        using var byToken = await edge.PublishAsync("""{"channel":"c","data":"x"}""", TestTokens.Create(sub: "svc", roles: new[] { "publisher" }));
        Assert.Equal(HttpStatusCode.Accepted, byToken.StatusCode);
    }

    [Fact]
    public async Task JwtWithoutTheRole_Expired_OrForged_Is401()
    {
        await using var edge = await StartAsync();
        foreach (var token in new[]
        {
            TestTokens.Create(sub: "svc", roles: new[] { "reader" }),
            TestTokens.Create(sub: "svc", roles: new[] { "publisher" }, expiresIn: TimeSpan.FromMinutes(-5)),
            TestTokens.Create(sub: "svc", roles: new[] { "publisher" }, key: TestTokens.SecretKey("a-different-secret-that-is-long-enough!!")),
            TestTokens.Unsigned(),
        })
        {
            using var response = await edge.PublishAsync("""{"channel":"c","data":"x"}""", token);
            await ProblemAsync(response, HttpStatusCode.Unauthorized);
        }
    }
}
