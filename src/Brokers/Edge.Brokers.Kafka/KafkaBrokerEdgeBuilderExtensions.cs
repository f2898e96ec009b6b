using Edge.Brokers.Kafka.Internal;
using Edge.Brokers.Registration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Edge.Brokers.Kafka;

public static class KafkaBrokerEdgeBuilderExtensions
{
    /// <summary>
    /// Uses a Kafka topic as the log, with options from <c>Edge:Broker:Kafka</c> (then
    /// <paramref name="configure"/>), validated when the host starts.
    /// </summary>
    public static IEdgeBuilder AddKafkaBroker(this IEdgeBuilder builder, Action<KafkaBrokerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<KafkaBrokerOptions>()
            .Bind(builder.Configuration.GetSection("Broker:Kafka"));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaBrokerOptions>, KafkaBrokerOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IEventBroker, KafkaBroker>();
        return builder;
    }
}
