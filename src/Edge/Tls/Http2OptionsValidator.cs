using Edge.Configuration;
using Microsoft.Extensions.Options;

namespace Edge.Tls;

/// <summary>Checks <c>Edge:Http2</c> against Kestrel's own bounds at start, every error at once, each naming its key.</summary>
internal sealed class Http2OptionsValidator : IValidateOptions<EdgeHttp2Options>
{
    private const int MaxWindow = int.MaxValue;
    private const int MinWindow = 65_535;

    public ValidateOptionsResult Validate(string? name, EdgeHttp2Options options)
    {
        var errors = new List<string>();
        const string prefix = EdgeHttp2Options.SectionName;
        OptionChecks.AtLeast(options.MaxStreamsPerConnection, 1, $"{prefix}:MaxStreamsPerConnection", errors);

        if (options.InitialConnectionWindowSize is < MinWindow or > MaxWindow)
        {
            errors.Add($"{prefix}:InitialConnectionWindowSize must be between {MinWindow} and {MaxWindow}.");
        }

        if (options.InitialStreamWindowSize is < MinWindow or > MaxWindow)
        {
            errors.Add($"{prefix}:InitialStreamWindowSize must be between {MinWindow} and {MaxWindow}.");
        }

        if (options.MaxFrameSize is < 16_384 or > 16_777_215)
        {
            errors.Add($"{prefix}:MaxFrameSize must be between 16384 and 16777215.");
        }

        if (options.KeepAlivePingDelay < TimeSpan.Zero || (options.KeepAlivePingDelay > TimeSpan.Zero && options.KeepAlivePingDelay < TimeSpan.FromSeconds(1)))
        {
            errors.Add($"{prefix}:KeepAlivePingDelay must be zero (off) or at least 00:00:01.");
        }

        if (options.KeepAlivePingTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{prefix}:KeepAlivePingTimeout must be at least 00:00:01.");
        }

        ListenAddress.ParseAll(options.PriorKnowledgeUrls, $"{prefix}:PriorKnowledgeUrls", priorKnowledge: true, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
