using Microsoft.AspNetCore.Cors.Infrastructure;

namespace Edge.Cors;

internal static class CorsServiceCollectionExtensions
{
    /// <summary>Adds CORS with the policies of <c>Edge:Cors:Policies</c>, for streams and YARP routes' <c>CorsPolicy</c>.</summary>
    public static IServiceCollection AddEdgeCors(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EdgeCorsOptions>().Bind(configuration.GetSection(EdgeCorsOptions.SectionName));
        services.AddCors();
        services.AddSingleton<ICorsPolicyProvider, ConfiguredCorsPolicyProvider>();
        return services;
    }
}
