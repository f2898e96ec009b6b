namespace Edge.Testing;

/// <summary>Configuration for functional tests: an in-memory broker, a publish key and an <c>/events</c> stream.</summary>
public static class TestSettings
{
    public const string PublishKey = "dev-publish-key";

    public static Dictionary<string, string?> Default(params (string Key, string? Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Edge:Broker:Type"] = "InMemory",
            ["Edge:Publish:ApiKeys:0"] = PublishKey,
            ["Edge:Streams:events:Path"] = "/events",
            ["Edge:Shutdown:DrainTimeout"] = "00:00:05",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        return settings;
    }
}
