using System.Runtime.ExceptionServices;
using Edge.Configuration;
using Edge.Tls;
using Microsoft.Extensions.Options;

namespace Edge.Hosting;

/// <summary>
/// Reads the options the pipeline is built from, so a bad configuration stops start-up with every
/// problem of every section at once: one section's failure is thrown as it is, several together.
/// </summary>
internal static class StartupOptions
{
    public static EdgeOptions Read(IServiceProvider services)
    {
        var failures = new List<OptionsValidationException>();
        var edge = Try(() => services.GetRequiredService<IOptions<EdgeOptions>>().Value, failures);
        Try(() => services.GetRequiredService<IOptions<EdgeTlsOptions>>().Value, failures);
        Try(() => services.GetRequiredService<IOptions<EdgeHttp2Options>>().Value, failures);
        if (failures.Count == 1)
        {
            ExceptionDispatchInfo.Throw(failures[0]);
        }

        if (failures.Count > 1)
        {
            throw new AggregateException(failures);
        }

        return edge!;
    }

    private static T? Try<T>(Func<T> read, List<OptionsValidationException> failures)
        where T : class
    {
        try
        {
            return read();
        }
        catch (OptionsValidationException ex)
        {
            failures.Add(ex);
            return null;
        }
    }
}
