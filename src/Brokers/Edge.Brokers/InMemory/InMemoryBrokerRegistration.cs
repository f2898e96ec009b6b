using Edge.Brokers.Registration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

[assembly: EdgeBroker(Edge.Brokers.InMemory.InMemoryBroker.TypeName, typeof(Edge.Brokers.InMemory.InMemoryBrokerRegistration))]

namespace Edge.Brokers.InMemory;

/// <summary>Registers the embedded broker for <c>Edge:Broker:Type = InMemory</c>.</summary>
public sealed class InMemoryBrokerRegistration : IEdgeBrokerRegistration
{
    public void Register(IEdgeBuilder builder) => builder.AddInMemoryBroker();
}

public static class InMemoryBrokerEdgeBuilderExtensions
{
    /// <summary>
    /// Uses the embedded broker, with options from <c>Edge:Broker:InMemory</c>. Pass
    /// <paramref name="sharedLog"/> to let several hosts in one process read the same log.
    /// </summary>
    public static IEdgeBuilder AddInMemoryBroker(this IEdgeBuilder builder, InMemoryLog? sharedLog = null)
    {
        builder.Services.AddOptions<InMemoryBrokerOptions>()
            .Bind(builder.Configuration.GetSection("Broker:InMemory"))
            .Validate(o => o.Partitions is >= 1 and <= 1024, "Edge:Broker:InMemory:Partitions must be from 1 to 1024.")
            .Validate(o => o.MaxRecordsPerPartition >= 1, "Edge:Broker:InMemory:MaxRecordsPerPartition must be at least 1.")
            .Validate(o => o.MaxAge >= TimeSpan.Zero, "Edge:Broker:InMemory:MaxAge must not be negative.")
            .Validate(o => o.MaxRecordBytes >= 1, "Edge:Broker:InMemory:MaxRecordBytes must be at least 1.")
            .Validate(o => o.LookBackRecords >= 0, "Edge:Broker:InMemory:LookBackRecords must not be negative.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        if (sharedLog is not null)
        {
            builder.Services.AddSingleton(sharedLog);
        }
        else
        {
            builder.Services.TryAddSingleton(sp => new InMemoryLog(sp.GetRequiredService<IOptions<InMemoryBrokerOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        }

        builder.Services.AddSingleton<IEventBroker>(sp => new InMemoryBroker(sp.GetRequiredService<InMemoryLog>(), sp.GetRequiredService<IOptions<InMemoryBrokerOptions>>().Value));
        return builder;
    }
}
