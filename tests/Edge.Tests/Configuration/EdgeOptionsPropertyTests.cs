using CsCheck;
using Edge.Configuration;
using Edge.Hosting;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace Edge.Tests.Configuration;

/// <summary>
/// Seeded property tests of configuration binding and validation: any mix of values (valid,
/// negative, malformed, empty) under real <c>Edge</c> keys either binds and validates with every
/// error naming an <c>Edge:</c> key, or fails to bind with the binder's message naming the key:
/// never another exception, never a silent acceptance of a negative count or interval.
/// </summary>
public sealed class EdgeOptionsPropertyTests
{
    private const string Seed = "0N0XIzNsQ0O2";
    private static readonly BrokerCatalog Catalog = BrokerCatalog.Discover();

    private static readonly string[] NumberKeys =
    [
        "Edge:Replay:MaxEvents", "Edge:Replay:MaxBytes", "Edge:Replay:BrokerReadConcurrency", "Edge:Replay:MaxEnvelopeBytes",
        "Edge:Replay:DeduplicationIds", "Edge:Publish:MaxBodyBytes", "Edge:Publish:MaxEventsPerRequest", "Edge:Publish:RetryAfterSeconds",
        "Edge:Shutdown:RetryHintMilliseconds", "Edge:Limits:MaxConnections", "Edge:Limits:MaxConnectionsPerUser", "Edge:Limits:MaxConnectionsPerIp",
        "Edge:Streams:events:QueueCapacity", "Edge:Streams:events:MaxChannels", "Edge:Streams:events:Retry",
    ];

    private static readonly string[] TimeKeys =
    [
        "Edge:Replay:MaxAge", "Edge:Replay:CatchUpTimeout", "Edge:Shutdown:DrainTimeout", "Edge:Streams:events:Heartbeat:Interval", "Edge:Proxy:ActivityTimeout",
    ];

    private static readonly string[] TextKeys =
    [
        "Edge:Streams:events:Path", "Edge:Publish:Path", "Edge:Streams:events:GapEvent", "Edge:Streams:events:Hello:Comment", "Edge:Broker:Type", "Edge:Urls",
    ];

    private static readonly Gen<string> NumberValue = Gen.OneOf(Gen.Int.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), Gen.OneOf("", "x", "1.5", "-0", "99999999999999999999", " 7 "));

    private static readonly Gen<string> TimeValue = Gen.OneOf(Gen.Int[-100_000, 100_000].Select(s => TimeSpan.FromSeconds(s).ToString()), Gen.OneOf("", "soon", "25:00:00", "-00:00:01", "1.00:00:00"));

    private static readonly Gen<string> TextValue = Gen.OneOf(Gen.String[Gen.Char["/abc{}:;*?\n \\"], 0, 12], Gen.OneOf("", "/", "/events", "InMemory", "Nope", "http://127.0.0.1:0"));

    private static readonly Gen<(string Key, string Value)> Setting = Gen.OneOf(
        Gen.Select(Gen.OneOf(NumberKeys), NumberValue),
        Gen.Select(Gen.OneOf(TimeKeys), TimeValue),
        Gen.Select(Gen.OneOf(TextKeys), TextValue));

    /// <summary>
    /// Found by the property below: an empty or mistyped value under a stream (an environment
    /// variable such as <c>Edge__Streams__events__MaxChannels=x</c>) made the configuration binder
    /// drop the whole stream without an error; the stream was not served and its other values
    /// never validated.
    /// </summary>
    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("1.5")]
    public void BadValueUnderAStream_IsReportedNamingTheStream(string value)
    {
        var errors = Errors(new Dictionary<string, string?>
        {
            ["Edge:Publish:ApiKeys:0"] = "k",
            ["Edge:Streams:events:Path"] = "/events",
            ["Edge:Streams:events:MaxChannels"] = value,
        }, out _);
        Assert.Contains(errors, e => e.StartsWith("Edge:Streams:events could not be read", StringComparison.Ordinal));
    }

    private static List<string> Errors(Dictionary<string, string?> values, out EdgeOptions options)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        options = new EdgeOptions();
        configuration.GetSection("Edge").Bind(options);
        var errors = new EdgeOptionsValidator(Catalog).Validate(null, options).Failures?.ToList() ?? [];
        errors.AddRange(new StreamSectionsValidator(configuration.GetSection("Edge")).Validate(null, options).Failures ?? []);
        return errors;
    }

    [Fact]
    public void AnySettings_BindAndValidateWithKeyedErrors_OrFailToBindNamingTheKey()
    {
        Setting.Array[1, 6].Sample(settings =>
        {
            var values = new Dictionary<string, string?>
            {
                ["Edge:Publish:ApiKeys:0"] = "k",
                ["Edge:Streams:events:Path"] = "/events",
            };
            foreach (var (key, value) in settings)
            {
                values[key] = value;
            }

            List<string> errors;
            try
            {
                errors = Errors(values, out _);
            }
            catch (InvalidOperationException e)
            {
                Assert.True(Array.Exists(settings, s => e.Message.Contains(s.Key, StringComparison.Ordinal)), e.Message);
                return;
            }

            Assert.All(errors, e => Assert.StartsWith("Edge:", e, StringComparison.Ordinal));
            if (errors.Exists(e => e.StartsWith("Edge:Streams:events could not be read", StringComparison.Ordinal)))
            {
                return; // the stream's other values cannot be checked: the binder dropped it, and that is reported
            }

            foreach (var (key, value) in settings)
            {
                var last = settings.Last(s => s.Key == key).Value;
                var negative = (NumberKeys.Contains(key) && long.TryParse(last, out var n) && n < 0)
                    || (TimeKeys.Contains(key) && TimeSpan.TryParse(last, System.Globalization.CultureInfo.InvariantCulture, out var t) && t < TimeSpan.Zero);
                if (negative)
                {
                    Assert.True(errors.Exists(e => e.StartsWith(key, StringComparison.Ordinal)), $"{key}={last} accepted; errors: {string.Join(" | ", errors)}");
                }
            }
        }, seed: Seed, iter: 1500, threads: 1);
    }
}
