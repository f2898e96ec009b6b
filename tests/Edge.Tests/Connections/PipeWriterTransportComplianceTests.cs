using Edge.Transports;
using Edge.Transports.Compliance;
using Xunit;

namespace Edge.Tests.Connections;

/// <summary>The transport compliance suite on <see cref="Edge.Connections.PipeWriterTransport"/>, over a real Kestrel and HttpClient (HTTP/1.1, chunked).</summary>
public sealed class PipeWriterTransportComplianceTests(KestrelTransportServer server) : TransportComplianceTests, IClassFixture<KestrelTransportServer>
{
    protected override Task<TransportUnderTest> OpenAsync(CancellationToken cancellationToken) => server.OpenAsync(cancellationToken);
}
