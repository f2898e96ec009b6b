using Microsoft.Extensions.Options;

namespace Edge.Configuration;

/// <summary>
/// Every stream written under <c>Edge:Streams</c> must have been bound. The configuration binder
/// drops a dictionary entry whose values it cannot convert (an empty or mistyped value such as
/// <c>Edge__Streams__events__MaxChannels=x</c>) without an error; this turns that into one.
/// </summary>
internal sealed class StreamSectionsValidator(IConfiguration edgeSection) : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var errors = new List<string>();
        foreach (var stream in edgeSection.GetSection("Streams").GetChildren())
        {
            if (!options.Streams.ContainsKey(stream.Key))
            {
                errors.Add($"Edge:Streams:{stream.Key} could not be read: a value under it is empty or not of its type (e.g. a number that is not a number).");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
