using Edge.Configuration;
using Microsoft.Extensions.Options;

namespace Edge.Tls;

/// <summary>
/// Adds the problems of <c>Edge:Tls</c> and <c>Edge:Http2</c> to those of <c>Edge</c>: whichever part
/// of the host first reads the edge's options (Kestrel, the socket transport, the pipeline), a bad
/// configuration stops the start with every problem of every section at once.
/// </summary>
internal sealed class TlsSectionsValidator(IServiceProvider services) : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var failures = new List<string>();
        Collect<EdgeTlsOptions>(failures);
        Collect<EdgeHttp2Options>(failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private void Collect<T>(List<string> failures)
        where T : class
    {
        try
        {
            _ = services.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            failures.AddRange(ex.Failures);
        }
    }
}
