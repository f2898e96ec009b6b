using Edge.Brokers.Registration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Edge.Brokers.RabbitMq;

public static class RabbitMqBrokerEdgeBuilderExtensions
{
    /// <summary>
    /// Uses a RabbitMQ stream as the log, with options from <c>Edge:Broker:RabbitMq</c>, then
    /// <paramref name="configure"/>. The options are validated at start; every error is reported at once.
    /// </summary>
    public static IEdgeBuilder AddRabbitMqBroker(this IEdgeBuilder builder, Action<RabbitMqBrokerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<RabbitMqBrokerOptions>()
            .Bind(builder.Configuration.GetSection("Broker:RabbitMq"));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RabbitMqBrokerOptions>, RabbitMqBrokerOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IEventBroker, RabbitMqBroker>();
        return builder;
    }
}
