using Edge.Brokers.Registration;

namespace Edge.Hosting;

internal sealed class EdgeBuilder : IEdgeBuilder
{
    public EdgeBuilder(IServiceCollection services, IConfiguration configuration)
    {
        Services = services;
        Configuration = configuration;
    }

    public IServiceCollection Services { get; }

    public IConfiguration Configuration { get; }
}
