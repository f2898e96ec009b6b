using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Edge.Brokers.Registration;

/// <summary>What <c>AddEdge()</c> returns; broker plugins chain their <c>Add*Broker</c> onto it.</summary>
public interface IEdgeBuilder
{
    IServiceCollection Services { get; }

    /// <summary>The <c>Edge</c> configuration section.</summary>
    IConfiguration Configuration { get; }
}
