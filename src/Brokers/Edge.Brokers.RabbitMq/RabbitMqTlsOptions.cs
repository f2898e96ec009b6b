namespace Edge.Brokers.RabbitMq;

/// <summary>TLS towards the broker (<c>Edge:Broker:RabbitMq:Tls</c>).</summary>
public sealed record RabbitMqTlsOptions
{
    /// <summary>Use TLS. Default false (an <c>amqps://</c> URI enables it anyway).</summary>
    public bool Enabled { get; set; }

    /// <summary>Name expected in the server certificate. Default: the URI's host.</summary>
    public string? ServerName { get; set; }

    /// <summary>Client certificate file (PKCS#12 or PEM) for mutual TLS. Default none.</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>Password of <see cref="ClientCertificatePath"/>. Default none. Never logged.</summary>
    public string? ClientCertificatePassword { get; set; }

    /// <summary>Check the server certificate's revocation. Default false.</summary>
    public bool CheckCertificateRevocation { get; set; }

    /// <summary>Accept a server certificate that does not validate (development only). Default false.</summary>
    public bool AllowInvalidServerCertificate { get; set; }
}
