using System.Net.Security;
using RabbitMQ.Client;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>Turns options into a connection factory, and URIs into text safe to log.</summary>
internal static class RabbitMqUri
{
    /// <summary>The URI with its password replaced by <c>***</c>; never throws.</summary>
    public static string Redact(string? uri)
    {
        if (string.IsNullOrEmpty(uri))
        {
            return string.Empty;
        }

        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed))
        {
            // Not a URI: show no more than a scheme-like prefix, which cannot hold a password.
            var colon = uri.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 && colon < 10 ? uri[..colon] + ":***" : "***";
        }

        if (string.IsNullOrEmpty(parsed.UserInfo))
        {
            return parsed.GetLeftPart(UriPartial.Path);
        }

        var user = parsed.UserInfo.Split(':')[0];
        var builder = new UriBuilder(parsed) { UserName = user, Password = "***" };
        return builder.Uri.GetLeftPart(UriPartial.Path).Replace("%2A%2A%2A", "***", StringComparison.Ordinal);
    }

    public static ConnectionFactory CreateFactory(RabbitMqBrokerOptions options)
    {
        var factory = new ConnectionFactory
        {
            Uri = new Uri(options.Uri),
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedConnectionTimeout = options.ConnectTimeout,
            SocketReadTimeout = options.ConnectTimeout,
            SocketWriteTimeout = options.ConnectTimeout,
            HandshakeContinuationTimeout = options.ConnectTimeout,
            ContinuationTimeout = TimeSpan.FromSeconds(Math.Max(10, options.ConnectTimeout.TotalSeconds)),
            RequestedHeartbeat = options.Heartbeat,
            ClientProvidedName = options.ClientName,
        };
        if (options.VirtualHost is { } vhost)
        {
            factory.VirtualHost = vhost;
        }

        var tls = options.Tls;
        if (tls.Enabled || factory.Ssl.Enabled)
        {
            factory.Ssl.Enabled = true;
            factory.Ssl.ServerName = tls.ServerName ?? factory.HostName;
            factory.Ssl.CheckCertificateRevocation = tls.CheckCertificateRevocation;
            if (!string.IsNullOrEmpty(tls.ClientCertificatePath))
            {
                factory.Ssl.CertPath = tls.ClientCertificatePath;
                factory.Ssl.CertPassphrase = tls.ClientCertificatePassword;
            }

            if (tls.AllowInvalidServerCertificate)
            {
                factory.Ssl.AcceptablePolicyErrors = SslPolicyErrors.RemoteCertificateChainErrors
                    | SslPolicyErrors.RemoteCertificateNameMismatch
                    | SslPolicyErrors.RemoteCertificateNotAvailable;
            }
        }

        return factory;
    }
}
