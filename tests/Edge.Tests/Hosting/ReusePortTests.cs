using System.Net;
using System.Net.Sockets;
using Edge.Brokers.InMemory;
using Edge.Tests.Functional;
using Edge.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Hosting;

public sealed class ReusePortTests
{
    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact]
    public async Task TwoInstances_WithReusePort_ShareOnePort_AndBothServeStreams()
    {
        var port = FreePort();
        var log = new InMemoryLog(new InMemoryBrokerOptions(), TimeProvider.System);
        var settings = TestSettings.Default(("Edge:Urls", $"http://127.0.0.1:{port}"), ("Edge:ReusePort", "true"));
        await using var a = await EdgeTestHost.StartAsync(settings, configureServices: s => s.AddSingleton(log));
        await using var b = await EdgeTestHost.StartAsync(settings, configureServices: s => s.AddSingleton(log));

        var clients = new List<SseTestClient>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                clients.Add(await SseTestClient.ConnectAsync(a.BaseAddress, "/events?channels=shared"));
            }

            var onA = a.Services.GetRequiredService<Edge.Hub.EventHub>().ConnectionCount;
            var onB = b.Services.GetRequiredService<Edge.Hub.EventHub>().ConnectionCount;
            Assert.Equal(20, onA + onB);

            using var _ = await a.PublishAsync("""{"channel":"shared","data":"to all"}""");
            foreach (var client in clients)
            {
                Assert.Equal("to all", (await client.ReadEventAsync(TimeSpan.FromSeconds(10))).Data);
            }
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task WithoutReusePort_ASecondInstanceOnTheSamePortFails()
    {
        var port = FreePort();
        var settings = TestSettings.Default(("Edge:Urls", $"http://127.0.0.1:{port}"));
        await using var a = await EdgeTestHost.StartAsync(settings);
        await Assert.ThrowsAnyAsync<IOException>(() => EdgeTestHost.StartAsync(settings));
    }
}
