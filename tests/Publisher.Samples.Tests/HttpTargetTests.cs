using System.Text.Json;
using Edge.Testing;
using Xunit;

namespace Publisher.Samples.Tests;

/// <summary><c>publisher http ...</c> against a real edge, with SSE clients on the receiving end.</summary>
public sealed class HttpTargetTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static Task<int> RunAsync(EdgeTestHost edge, params string[] args) =>
        PublisherCli.RunAsync([.. args, "--url", edge.BaseAddress.ToString(), "--key", TestSettings.PublishKey]).WaitAsync(Wait);

    [Fact]
    public async Task OrdersScenario_UpdatesAndToastsOfTheLifecycle_ReachTheOrdersChannel()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders");

        Assert.Equal(0, await RunAsync(edge, "http", "orders", "--rate", "0"));

        var events = await client.ReadEventsAsync(5, Wait);
        Assert.Equal(["update", "notification", "update", "update", "notification"], events.Select(e => e.Type));
        Assert.Equal(["placed", "paid", "shipped"], events.Where(e => e.Type == "update").Select(e => JsonDocument.Parse(e.Data!).RootElement.GetProperty("payload").GetProperty("status").GetString()));
        using var shipped = JsonDocument.Parse(events[4].Data!);
        Assert.Equal("success", shipped.RootElement.GetProperty("notificationType").GetString());
        Assert.Equal("Your order #12345 has been shipped", shipped.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task SyncScenario_ProgressGoesToThatSessionOnly()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var mine = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?sessionId=tab-1");
        await using var other = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?sessionId=tab-2");

        Assert.Equal(0, await RunAsync(edge, "http", "sync", "--session", "tab-1", "--count", "5", "--rate", "50"));

        var events = await mine.ReadEventsAsync(10, Wait);
        Assert.Equal(["0", "25", "50", "75", "100"], events.Where(e => e.Type == "syncProgress").Select(e => e.Data));
        Assert.Equal("Sync complete", events[^1].Data);
        Assert.True(await other.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task TaskProgressAndChat_HtmlFragments_WithAChannelOption()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var task = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=tasks.42");
        await using var chat = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=chat.lobby");

        Assert.Equal(0, await RunAsync(edge, "http", "task-progress", "--channel", "tasks.42", "--count", "2", "--rate", "0"));
        Assert.Equal(0, await RunAsync(edge, "http", "chat", "--user", "<ann>", "--count", "1"));

        var progress = await task.ReadEventsAsync(6, Wait);
        Assert.Equal(["status", "percent", "bar", "status", "percent", "bar"], progress.Select(e => e.Type));
        Assert.Equal(("Done", "100%"), (progress[3].Data, progress[4].Data));
        Assert.Equal("""<div id="progress-bar" class="h-full bg-blue-500" style="width: 100%"></div>""", progress[5].Data);
        var line = await chat.ReadEventAsync(Wait);
        Assert.Null(line.Event);
        Assert.Equal("""<div class="chat-line"><b>&lt;ann&gt;</b> message 1 of 1</div>""", line.Data);
    }

    [Fact]
    public async Task Duration_EndsARunWithoutCount_AndTheRateCapsItsSteps()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());
        await using var client = await SseTestClient.ConnectAsync(edge.BaseAddress, "/events?channels=orders");

        // Without --duration, "notification --rate 5" would stop after its default count (1);
        // with it the run has no count and ends by time: step n is due n/5 s after the start, so at most 5 steps fit in one second.
        Assert.Equal(0, await RunAsync(edge, "http", "notification", "--rate", "5", "--duration", "1"));

        var count = 0;
        while (!await client.NoEventWithinAsync(TimeSpan.FromMilliseconds(500)))
        {
            count++;
        }

        Assert.InRange(count, 1, 5);
    }

    [Fact]
    public async Task RefusedPublish_ExitsWithOne_BadOptionsAreRefusedBeforeAnythingIsSent()
    {
        await using var edge = await EdgeTestHost.StartAsync(TestSettings.Default());

        Assert.Equal(1, await PublisherCli.RunAsync(["http", "orders", "--url", edge.BaseAddress.ToString(), "--key", "wrong-key"]).WaitAsync(Wait));
        Assert.NotEqual(0, await PublisherCli.RunAsync(["http", "sync", "--url", edge.BaseAddress.ToString()]).WaitAsync(Wait));
        Assert.NotEqual(0, await PublisherCli.RunAsync(["http", "document-lock", "--session", "only-one"]).WaitAsync(Wait));
        Assert.NotEqual(0, await PublisherCli.RunAsync(["http", "no-such-scenario"]).WaitAsync(Wait));
        Assert.NotEqual(0, await PublisherCli.RunAsync(["http", "orders", "--rate", "-1"]).WaitAsync(Wait));
    }
}
