using Edge.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit;

namespace Edge.Tests.Auth;

[Trait("Category", "Identity")]
public sealed class AuthOptionsValidationTests
{
    private static IReadOnlyList<string> Failures(Dictionary<string, string?> settings)
    {
        if (!settings.Keys.Any(k => k.StartsWith("Edge:Publish:", StringComparison.Ordinal)))
        {
            settings["Edge:Publish:ApiKeys:0"] = "k";
        }

        var ex = Assert.ThrowsAny<OptionsValidationException>(() => EdgeApp.Build([], c => c.AddInMemoryCollection(settings)));
        return ex.Failures.ToList();
    }

    [Fact]
    public void EveryAuthAndLimitError_IsReportedAtOnce_ByKey()
    {
        var failures = Failures(new()
        {
            ["Edge:Streams:a:Path"] = "/a",
            ["Edge:Streams:a:Auth:Mode"] = "Jwt",
            ["Edge:Streams:a:Auth:Jwt:Secrets:0"] = "too-short",
            ["Edge:Streams:a:Auth:Jwt:Algorithms:0"] = "none",
            ["Edge:Streams:a:Auth:Jwt:ClockSkew"] = "01:00:00",
            ["Edge:Streams:a:Auth:ChannelRoles:bad*pattern:0"] = "admin",
            ["Edge:Streams:b:Path"] = "/b",
            ["Edge:Streams:b:Auth:Mode"] = "Forward",
            ["Edge:Streams:b:Limits:MaxConnectionsPerUser"] = "-1",
            ["Edge:Streams:c:Path"] = "/c",
            ["Edge:Streams:c:Auth:Mode"] = "Jwt",
            ["Edge:Streams:c:Auth:Jwt:JwksFile"] = "/nonexistent/jwks.json",
            ["Edge:Streams:d:Path"] = "/d",
            ["Edge:Streams:d:Auth:ChannelRoles:x:0"] = "admin",
            ["Edge:Limits:MaxConnectionsPerIp"] = "-5",
        });

        Assert.Contains(failures, f => f.StartsWith("Edge:Streams:a:Auth:Jwt:Secrets:0", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Streams:a:Auth:Jwt:Algorithms", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Streams:a:Auth:Jwt:ClockSkew", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Streams:a:Auth:ChannelRoles:bad*pattern", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Streams:b:Auth:Forward:Url", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Streams:b:Limits:MaxConnectionsPerUser", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Streams:c:Auth:Jwt:JwksFile", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Streams:d:Auth:ChannelRoles", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Limits:MaxConnectionsPerIp", StringComparison.Ordinal));
    }

    [Fact]
    public void PublishWithJwtOnly_NeedsNoApiKeys_ButValidKeys()
    {
        var failures = Failures(new()
        {
            ["Edge:Publish:Jwt:Secrets:0"] = "short",
        });
        Assert.DoesNotContain(failures, f => f.StartsWith("Edge:Publish:ApiKeys", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Publish:Jwt:Secrets:0", StringComparison.Ordinal));
    }
}
