using System.Text;
using Edge.Brokers.RabbitMq.Internal;
using Microsoft.Extensions.Options;

namespace Edge.Brokers.RabbitMq;

/// <summary>Checks <see cref="RabbitMqBrokerOptions"/> at start and reports every error at once, each naming its key.</summary>
internal sealed class RabbitMqBrokerOptionsValidator : IValidateOptions<RabbitMqBrokerOptions>
{
    internal const string Section = "Edge:Broker:RabbitMq";

    /// <summary>Longest stream name: the companion queues add a suffix and AMQP names stop at 255 bytes.</summary>
    internal const int MaxStreamNameBytes = 230;

    public ValidateOptionsResult Validate(string? name, RabbitMqBrokerOptions options)
    {
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static List<string> Collect(RabbitMqBrokerOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.Uri) || !System.Uri.TryCreate(o.Uri, UriKind.Absolute, out var uri))
        {
            errors.Add($"{Section}:Uri must be an absolute URI such as amqp://user:password@host:5672/ (got '{RabbitMqUri.Redact(o.Uri)}').");
        }
        else if (uri.Scheme is not ("amqp" or "amqps"))
        {
            errors.Add($"{Section}:Uri must use the amqp or amqps scheme (got '{uri.Scheme}').");
        }
        else if (string.IsNullOrEmpty(uri.Host))
        {
            errors.Add($"{Section}:Uri must name a host.");
        }

        if (o.VirtualHost is { } vhost && (vhost.Length == 0 || Encoding.UTF8.GetByteCount(vhost) > 255))
        {
            errors.Add($"{Section}:VirtualHost must be 1 to 255 bytes, or absent to use the URI's.");
        }

        if (string.IsNullOrWhiteSpace(o.StreamName) || Encoding.UTF8.GetByteCount(o.StreamName) > MaxStreamNameBytes)
        {
            errors.Add($"{Section}:StreamName must be 1 to {MaxStreamNameBytes} bytes.");
        }
        else if (o.StreamName.StartsWith("amq.", StringComparison.Ordinal))
        {
            errors.Add($"{Section}:StreamName must not start with 'amq.' (reserved by RabbitMQ).");
        }

        if (o.Exchange is null || Encoding.UTF8.GetByteCount(o.Exchange) > 255)
        {
            errors.Add($"{Section}:Exchange must be at most 255 bytes; empty declares no exchange.");
        }
        else if (o.Exchange.StartsWith("amq.", StringComparison.Ordinal))
        {
            errors.Add($"{Section}:Exchange must not start with 'amq.' (reserved by RabbitMQ).");
        }

        if (o.MaxAge < TimeSpan.Zero || (o.MaxAge > TimeSpan.Zero && o.MaxAge < TimeSpan.FromSeconds(1)))
        {
            errors.Add($"{Section}:MaxAge must be zero (no age limit) or at least one second.");
        }

        if (o.MaxLengthBytes < 0)
        {
            errors.Add($"{Section}:MaxLengthBytes must not be negative (zero means no size limit).");
        }

        if (o.MaxSegmentSizeBytes is < 0 or > 3_000_000_000)
        {
            errors.Add($"{Section}:MaxSegmentSizeBytes must be from 0 (broker default) to 3000000000.");
        }

        if (o.Prefetch is < 1 or > ushort.MaxValue)
        {
            errors.Add($"{Section}:Prefetch must be from 1 to 65535 (stream consumers need a prefetch).");
        }

        if (o.LookBack is null)
        {
            errors.Add($"{Section}:LookBack must not be null.");
        }
        else
        {
            if (o.LookBack.Count < 0)
            {
                errors.Add($"{Section}:LookBack:Count must not be negative.");
            }

            if (o.LookBack.Age < TimeSpan.Zero)
            {
                errors.Add($"{Section}:LookBack:Age must not be negative.");
            }

            if (o.LookBack.Count > 0 && o.LookBack.Age > TimeSpan.Zero)
            {
                errors.Add($"{Section}:LookBack:Count and {Section}:LookBack:Age are exclusive; set one of them.");
            }
        }

        if (o.Tls is null)
        {
            errors.Add($"{Section}:Tls must not be null.");
        }
        else
        {
            if (o.Tls.ClientCertificatePath is { Length: > 0 } path && !File.Exists(path))
            {
                errors.Add($"{Section}:Tls:ClientCertificatePath names a file that does not exist ('{path}').");
            }

            if (o.Tls.ClientCertificatePassword is { Length: > 0 } && string.IsNullOrEmpty(o.Tls.ClientCertificatePath))
            {
                errors.Add($"{Section}:Tls:ClientCertificatePassword is set but {Section}:Tls:ClientCertificatePath is not.");
            }

            if (o.Tls.ServerName is { } serverName && string.IsNullOrWhiteSpace(serverName))
            {
                errors.Add($"{Section}:Tls:ServerName must not be blank; remove it to use the URI's host.");
            }
        }

        if (o.ReconnectDelayMin <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:ReconnectDelayMin must be positive.");
        }

        if (o.ReconnectDelayMax < o.ReconnectDelayMin)
        {
            errors.Add($"{Section}:ReconnectDelayMax must be at least {Section}:ReconnectDelayMin.");
        }

        if (o.ReplayConcurrency is < 1 or > 1024)
        {
            errors.Add($"{Section}:ReplayConcurrency must be from 1 to 1024.");
        }

        Positive(errors, o.ReadIdleTimeout, "ReadIdleTimeout");
        Positive(errors, o.PublishTimeout, "PublishTimeout");
        Positive(errors, o.ConnectTimeout, "ConnectTimeout");
        if (o.Heartbeat < TimeSpan.Zero)
        {
            errors.Add($"{Section}:Heartbeat must not be negative (zero disables heartbeats).");
        }

        return errors;
    }

    private static void Positive(List<string> errors, TimeSpan value, string key)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:{key} must be positive.");
        }
    }
}
