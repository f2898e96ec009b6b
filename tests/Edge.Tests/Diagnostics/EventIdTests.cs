using System.Reflection;
using Edge.Brokers.Kafka;
using Edge.Brokers.RabbitMq;
using Edge.Diagnostics;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Edge.Tests.Diagnostics;

/// <summary>Log event ids are what operators filter on: each names one log line, inside its component's range.</summary>
public sealed class EventIdTests
{
    private static readonly (Assembly Assembly, int First, int Last)[] Ranges =
    [
        (typeof(EdgeEventIds).Assembly, 1000, 5999),
        (typeof(Brokers.IEventBroker).Assembly, 1000, 5999),
        (typeof(Transports.Sockets.SocketStreamsServiceCollectionExtensions).Assembly, 6000, 6099),
        (typeof(RabbitMqBroker).Assembly, 7000, 7099),
        (typeof(KafkaBroker).Assembly, 7100, 7199),
    ];

    private static List<(int Id, string Method, Assembly Assembly)> LogMethods() =>
        Ranges.SelectMany(range => range.Assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(found => found.Attribute is not null)
            .Select(found => (found.Attribute!.EventId, $"{found.Method.DeclaringType!.FullName}.{found.Method.Name}", found.Method.DeclaringType!.Assembly))
            .ToList();

    [Fact]
    public void EveryLogLine_HasAnIdOfItsOwn()
    {
        var methods = LogMethods();
        Assert.NotEmpty(methods);
        var shared = methods.GroupBy(m => m.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}").ToList();
        Assert.True(shared.Count == 0, "Event ids used by more than one log line:\n" + string.Join("\n", shared));
    }

    [Fact]
    public void EveryLogLine_IsInsideItsAssemblysRange()
    {
        var outside = LogMethods()
            .Where(m => Ranges.First(r => r.Assembly == m.Assembly) is var range && (m.Id < range.First || m.Id > range.Last))
            .Select(m => $"{m.Id} {m.Method}")
            .ToList();
        Assert.True(outside.Count == 0, "Event ids outside their component's range:\n" + string.Join("\n", outside));
    }

    [Fact]
    public void EveryDeclaredHostId_IsUsed()
    {
        var declared = typeof(EdgeEventIds).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(field => (Name: field.Name, Id: (int)field.GetRawConstantValue()!))
            .ToList();
        var used = LogMethods().Where(m => m.Assembly == typeof(EdgeEventIds).Assembly).Select(m => m.Id).ToHashSet();

        Assert.Equal(declared.Count, declared.Select(d => d.Id).Distinct().Count());
        Assert.Empty(declared.Where(d => !used.Contains(d.Id)).Select(d => $"{d.Name} = {d.Id}"));
    }
}
