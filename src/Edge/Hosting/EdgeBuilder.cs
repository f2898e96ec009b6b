using Edge.Brokers.Registration;

namespace Edge.Hosting;

internal sealed class EdgeBuilder(IServiceCollection services, IConfiguration configuration) : IEdgeBuilder
{
    public IServiceCollection Services { get; } = services;

    public IConfiguration Configuration { get; } = configuration;
}
