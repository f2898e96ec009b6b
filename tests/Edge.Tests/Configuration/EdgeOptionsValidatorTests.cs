using Edge.Configuration;
using Edge.Hosting;
using Xunit;

namespace Edge.Tests.Configuration;

public sealed class EdgeOptionsValidatorTests
{
    private static readonly BrokerCatalog Catalog = BrokerCatalog.Discover();

    private static EdgeOptions Valid() => new()
    {
        Publish = { ApiKeys = ["k"] },
        Streams = { ["events"] = new StreamOptions { Path = "/events" } },
    };

    private static IReadOnlyList<string> Errors(EdgeOptions options) =>
        new EdgeOptionsValidator(Catalog).Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void Validate_DefaultShape_Succeeds()
    {
        Assert.Empty(Errors(Valid()));
    }

    [Fact]
    public void Validate_ForwardedHeaders_ReportsEveryBadValueByKey()
    {
        var options = Valid();
        options.ForwardedHeaders = new ForwardedHeadersSettings
        {
            Enabled = true,
            Headers = ["XForwardedFor", "XForwardedSomething", "3"],
            KnownProxies = ["10.0.0.1", "not-an-ip"],
            KnownNetworks = ["10.0.0.0/8", "10.0.0.0/99"],
            ForwardLimit = -1,
        };

        var errors = Errors(options);
        Assert.Equal(5, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Edge:ForwardedHeaders:Headers:1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:ForwardedHeaders:Headers:2", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:ForwardedHeaders:KnownProxies:1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:ForwardedHeaders:KnownNetworks:1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:ForwardedHeaders:ForwardLimit", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ForwardedHeadersOff_IgnoresTheirValues()
    {
        var options = Valid();
        options.ForwardedHeaders = new ForwardedHeadersSettings { KnownProxies = ["not-an-ip"] };

        Assert.Empty(Errors(options));
    }

    [Fact]
    public void Validate_UnknownBrokerType_NamesTheKeyAndKnownTypes()
    {
        var options = Valid();
        options.Broker.Type = "Nats";

        var error = Assert.Single(Errors(options));
        Assert.StartsWith("Edge:Broker:Type", error, StringComparison.Ordinal);
        Assert.Contains("InMemory", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DuplicateStreamPaths_NamesBothStreams()
    {
        var options = Valid();
        options.Streams["again"] = new StreamOptions { Path = "/events/" };

        var error = Assert.Single(Errors(options));
        Assert.Contains("Edge:Streams:", error, StringComparison.Ordinal);
        Assert.Contains("collides", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RouteParametersWithOtherNames_StillCollide()
    {
        var options = Valid();
        options.Streams["a"] = new StreamOptions { Path = "/chat/{room}/events" };
        options.Streams["b"] = new StreamOptions { Path = "/chat/{id}/events" };

        Assert.Contains(Errors(options), e => e.Contains("collides", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_StreamOnThePublishPath_Fails()
    {
        var options = Valid();
        options.Streams["bad"] = new StreamOptions { Path = "/_edge/publish" };

        var error = Assert.Single(Errors(options));
        Assert.Contains("Edge:Streams:bad:Path", error, StringComparison.Ordinal);
        Assert.Contains("Edge:Publish:Path", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NegativeIntervals_NameTheirKeys()
    {
        var options = Valid();
        options.Streams["events"].Heartbeat.Interval = TimeSpan.FromSeconds(-1);
        options.Shutdown.DrainTimeout = TimeSpan.FromSeconds(-5);
        options.Replay.MaxAge = TimeSpan.FromMinutes(-1);

        var errors = Errors(options);
        Assert.Contains(errors, e => e.StartsWith("Edge:Streams:events:Heartbeat:Interval", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:Shutdown:DrainTimeout", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:Replay:MaxAge", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ReportsEveryErrorAtOnce()
    {
        var options = Valid();
        options.Broker.Type = "Nope";
        options.Publish.ApiKeys.Clear();
        options.Streams["x"] = new StreamOptions { Path = "no-slash", QueueCapacity = 0 };
        options.Streams["y"] = new StreamOptions { Path = "/chat/{room}", Channels = ["chat.{other}"], Hello = new SignalOptions { Comment = "a\nb" } };

        var errors = Errors(options);
        Assert.True(errors.Count >= 6, string.Join("\n", errors));
        Assert.Contains(errors, e => e.StartsWith("Edge:Publish:ApiKeys", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:Streams:x:Path", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:Streams:x:QueueCapacity", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:Streams:y:Channels:0", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Edge:Streams:y:Hello:Comment", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_BadUrl_Fails()
    {
        var options = Valid();
        options.Urls = "tcp://127.0.0.1:80";
        Assert.Contains(Errors(options), e => e.StartsWith("Edge:Urls", StringComparison.Ordinal));
    }
}
