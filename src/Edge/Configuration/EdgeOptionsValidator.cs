using System.Text.RegularExpressions;
using Edge.Brokers.Envelopes;
using Edge.Hosting;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Options;

namespace Edge.Configuration;

/// <summary>Checks the whole <c>Edge</c> section at start and reports every error at once, each naming its key.</summary>
internal sealed partial class EdgeOptionsValidator(BrokerCatalog brokers) : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(options.Urls))
        {
            errors.Add("Edge:Urls must name at least one address, e.g. http://127.0.0.1:8080.");
        }
        else
        {
            foreach (var url in options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    errors.Add($"Edge:Urls: '{url}' is not an http:// or https:// address.");
                }
            }
        }

        if (!brokers.TryFind(options.Broker.Type, out _))
        {
            errors.Add($"Edge:Broker:Type: '{options.Broker.Type}' is not a known broker; known types: {string.Join(", ", brokers.Types)}.");
        }

        Http.ForwardedHeadersSetup.Validate(options.ForwardedHeaders, errors);
        ValidateReplay(options.Replay, errors);
        ValidatePublish(options.Publish, errors);

        OptionChecks.NotNegative(options.Shutdown.DrainTimeout, "Edge:Shutdown:DrainTimeout", errors);
        OptionChecks.NotNegative(options.Shutdown.RetryHintMilliseconds, "Edge:Shutdown:RetryHintMilliseconds", errors);
        OptionChecks.Positive(options.Proxy.ActivityTimeout, "Edge:Proxy:ActivityTimeout", errors);

        CheckPath(options.Health.LivePath, "Edge:Health:LivePath", errors);
        CheckPath(options.Health.ReadyPath, "Edge:Health:ReadyPath", errors);
        OptionChecks.NotNegative(options.Health.MaxFeedLag, "Edge:Health:MaxFeedLag", errors, "zero does not judge the lag");

        var reserved = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [Normalize(options.Health.LivePath)] = "Edge:Health:LivePath",
            [Normalize(options.Health.ReadyPath)] = "Edge:Health:ReadyPath",
        };
        if (options.Publish.Enabled)
        {
            reserved.TryAdd(Normalize(options.Publish.Path), "Edge:Publish:Path");
        }

        if (options.Demo.Enabled)
        {
            reserved.TryAdd(Normalize(options.Demo.Path), "Edge:Demo:Path");
        }

        Demo.DemoValidator.Validate(options, errors);
        Diagnostics.MetricsValidator.Validate(options.Metrics, errors);
        if (options.Admin.ApiKeys.Count > 0)
        {
            CheckPath(options.Admin.Path, "Edge:Admin:Path", errors);
            for (var i = 0; i < options.Admin.ApiKeys.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(options.Admin.ApiKeys[i]) || !EnvelopeLimits.IsLineSafe(options.Admin.ApiKeys[i]))
                {
                    errors.Add($"Edge:Admin:ApiKeys:{i} must be a non-empty key without control characters.");
                }
            }

            reserved.TryAdd(Normalize(options.Admin.Path.TrimEnd('/') + "/end-streams"), "Edge:Admin:Path");
        }

        if (options.Metrics.Enabled)
        {
            reserved.TryAdd(Normalize(options.Metrics.Path), "Edge:Metrics:Path");
            if (!string.IsNullOrEmpty(options.Metrics.JsonPath))
            {
                reserved.TryAdd(Normalize(options.Metrics.JsonPath), "Edge:Metrics:JsonPath");
            }
        }

        Limits.LimitsValidator.Validate(options.Limits, errors);
        RateLimiting.RateLimitingValidator.Validate(options.RateLimiting, errors);
        Cors.CorsValidator.Validate(options.Cors, errors);
        if (options.Publish.Enabled && options.Publish.RateLimitPolicy is { } publishPolicy && !options.RateLimiting.Policies.ContainsKey(publishPolicy))
        {
            errors.Add($"Edge:Publish:RateLimitPolicy '{publishPolicy}' is not defined under Edge:RateLimiting:Policies.");
        }

        foreach (var (streamName, stream) in options.Streams)
        {
            ValidateStream(streamName, stream, reserved, errors);
            var key = $"Edge:Streams:{streamName}";
            Auth.AuthOptionsValidator.Validate($"{key}:Auth", stream.Auth, errors);
            Limits.LimitsValidator.ValidateStream(key, stream.Limits, errors);
            if (stream.RateLimitPolicy is { } policy && !options.RateLimiting.Policies.ContainsKey(policy))
            {
                errors.Add($"{key}:RateLimitPolicy '{policy}' is not defined under Edge:RateLimiting:Policies.");
            }

            if (stream.CorsPolicy is { } cors && !options.Cors.Policies.ContainsKey(cors))
            {
                errors.Add($"{key}:CorsPolicy '{cors}' is not defined under Edge:Cors:Policies.");
            }

            if (!Enum.IsDefined(stream.RefusalStyle))
            {
                errors.Add($"{key}:RefusalStyle must be Status or Event.");
            }

            OptionChecks.AtLeast(stream.RefusalRetryMilliseconds, 1, $"{key}:RefusalRetryMilliseconds", errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateReplay(ReplayOptions replay, List<string> errors)
    {
        OptionChecks.AtLeast(replay.MaxEvents, 1, "Edge:Replay:MaxEvents", errors);
        OptionChecks.AtLeast(replay.MaxBytes, 1, "Edge:Replay:MaxBytes", errors);
        OptionChecks.NotNegative(replay.MaxAge, "Edge:Replay:MaxAge", errors, "zero means no age limit");
        OptionChecks.NotNegative(replay.CatchUpTimeout, "Edge:Replay:CatchUpTimeout", errors);
        OptionChecks.AtLeast(replay.BrokerReadConcurrency, 1, "Edge:Replay:BrokerReadConcurrency", errors);
        OptionChecks.AtLeast(replay.MaxEnvelopeBytes, 64, "Edge:Replay:MaxEnvelopeBytes", errors);
        OptionChecks.NotNegative(replay.DeduplicationIds, "Edge:Replay:DeduplicationIds", errors, "zero disables deduplication");
    }

    private static void ValidatePublish(PublishOptions publish, List<string> errors)
    {
        if (!publish.Enabled)
        {
            return;
        }

        CheckPath(publish.Path, "Edge:Publish:Path", errors);
        if (publish.ApiKeys.Count == 0 && publish.Jwt is null)
        {
            errors.Add("Edge:Publish:ApiKeys must hold at least one key while Edge:Publish:Enabled is true (or configure Edge:Publish:Jwt).");
        }

        if (publish.Jwt is { } jwt)
        {
            Auth.AuthOptionsValidator.ValidateJwt("Edge:Publish:Jwt", jwt, errors);
            if (string.IsNullOrWhiteSpace(publish.JwtRole))
            {
                errors.Add("Edge:Publish:JwtRole must name the role a publishing token carries.");
            }
        }

        for (var i = 0; i < publish.ApiKeys.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(publish.ApiKeys[i]) || !EnvelopeLimits.IsLineSafe(publish.ApiKeys[i]))
            {
                errors.Add($"Edge:Publish:ApiKeys:{i} must be a non-empty key without control characters.");
            }
        }

        OptionChecks.AtLeast(publish.MaxBodyBytes, 2, "Edge:Publish:MaxBodyBytes", errors);
        OptionChecks.AtLeast(publish.MaxEventsPerRequest, 1, "Edge:Publish:MaxEventsPerRequest", errors);
        OptionChecks.NotNegative(publish.RetryAfterSeconds, "Edge:Publish:RetryAfterSeconds", errors);
    }

    private static void ValidateStream(string name, StreamOptions stream, Dictionary<string, string> reserved, List<string> errors)
    {
        var key = $"Edge:Streams:{name}";
        RoutePattern? pattern = null;
        if (string.IsNullOrWhiteSpace(stream.Path))
        {
            errors.Add($"{key}:Path is required (e.g. /events).");
        }
        else if (!stream.Path.StartsWith('/'))
        {
            errors.Add($"{key}:Path '{stream.Path}' must start with '/'.");
        }
        else
        {
            try
            {
                pattern = RoutePatternFactory.Parse(stream.Path);
            }
            catch (RoutePatternException ex)
            {
                errors.Add($"{key}:Path '{stream.Path}' is not a valid route pattern: {ex.Message}");
            }

            if (pattern is not null)
            {
                var normalized = Normalize(stream.Path);
                if (!reserved.TryAdd(normalized, $"{key}:Path"))
                {
                    errors.Add($"{key}:Path '{stream.Path}' collides with {reserved[normalized]}.");
                }
            }
        }

        for (var i = 0; i < stream.Channels.Count; i++)
        {
            var channel = stream.Channels[i];
            foreach (Match placeholder in PlaceholderRegex().Matches(channel ?? string.Empty))
            {
                var parameter = placeholder.Groups[1].Value;
                if (pattern is not null && pattern.GetParameter(parameter) is null)
                {
                    errors.Add($"{key}:Channels:{i} '{channel}' uses {{{parameter}}}, which {key}:Path does not define.");
                }
            }

            var literal = PlaceholderRegex().Replace(channel ?? string.Empty, "x");
            if (EnvelopeLimits.CheckChannel(literal) is { } problem)
            {
                errors.Add($"{key}:Channels:{i} {problem}.");
            }
        }

        OptionChecks.AtLeast(stream.MaxChannels, 1, $"{key}:MaxChannels", errors);
        OptionChecks.AtLeast(stream.QueueCapacity, 1, $"{key}:QueueCapacity", errors);
        OptionChecks.NotNegative(stream.Retry ?? 0, $"{key}:Retry", errors);
        OptionChecks.NotNegative(stream.Heartbeat.Interval, $"{key}:Heartbeat:Interval", errors, "zero disables heartbeats");

        CheckSignal($"{key}:Hello", stream.Hello.Comment, stream.Hello.Event, errors);
        CheckSignal($"{key}:Heartbeat", stream.Heartbeat.Comment, stream.Heartbeat.Event, errors);

        if (string.IsNullOrEmpty(stream.GapEvent) || !EnvelopeLimits.IsLineSafe(stream.GapEvent))
        {
            errors.Add($"{key}:GapEvent must be a non-empty event name without control characters.");
        }

        CheckName(stream.ChannelsQuery, $"{key}:ChannelsQuery", errors);
        CheckName(stream.Identity.UserIdQuery, $"{key}:Identity:UserIdQuery", errors);
        CheckName(stream.Identity.UserIdHeader, $"{key}:Identity:UserIdHeader", errors);
        CheckName(stream.Identity.SessionIdQuery, $"{key}:Identity:SessionIdQuery", errors);
        CheckName(stream.Identity.SessionIdHeader, $"{key}:Identity:SessionIdHeader", errors);
    }

    private static void CheckSignal(string key, string? comment, string? eventName, List<string> errors)
    {
        if (comment is not null && !EnvelopeLimits.IsLineSafe(comment))
        {
            errors.Add($"{key}:Comment must not contain CR, LF or other control characters.");
        }

        if (eventName is not null && (eventName.Length == 0 || !EnvelopeLimits.IsLineSafe(eventName)))
        {
            errors.Add($"{key}:Event must be a non-empty event name without control characters.");
        }
    }

    private static void CheckName(string? value, string key, List<string> errors)
    {
        if (!string.IsNullOrEmpty(value) && !EnvelopeLimits.IsLineSafe(value))
        {
            errors.Add($"{key} must not contain control characters.");
        }
    }

    internal static void CheckPath(string? path, string key, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path) || !path.StartsWith('/'))
        {
            errors.Add($"{key} must be a path starting with '/'.");
        }
    }

    private static string Normalize(string? path) =>
        ParameterNameRegex().Replace((path ?? string.Empty).TrimEnd('/'), "{}");

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex PlaceholderRegex();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex ParameterNameRegex();
}
