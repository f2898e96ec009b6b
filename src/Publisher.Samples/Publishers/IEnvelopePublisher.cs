namespace Publisher.Samples.Publishers;

/// <summary>Sends a batch of envelopes and completes once the edge (or its broker) stored all of them.</summary>
public interface IEnvelopePublisher : IAsyncDisposable
{
    Task PublishAsync(IReadOnlyList<Envelope> batch, CancellationToken cancellationToken);
}
