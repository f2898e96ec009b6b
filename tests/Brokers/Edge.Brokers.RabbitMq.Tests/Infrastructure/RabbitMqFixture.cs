using System.Diagnostics;
using DotNet.Testcontainers.Containers;
using Edge.Brokers.RabbitMq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Testcontainers.RabbitMq;
using Xunit;

namespace Edge.Brokers.RabbitMq.Tests.Infrastructure;

/// <summary>
/// A real RabbitMQ node for the tests: the one named by <c>EDGE_RABBITMQ_URI</c>; otherwise a
/// Testcontainers container where a Docker engine answers; otherwise a local node started by
/// <c>scripts/rabbitmq.sh</c>. Finding none fails the tests: they are never skipped.
/// </summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    /// <summary>Node name of a local node (scripts/rabbitmq.sh), for rabbitmqctl.</summary>
    private static readonly string NodeName = Environment.GetEnvironmentVariable("EDGE_RABBITMQ_NODE") ?? "edge-test@localhost";

    private readonly List<string> _createdStreams = [];
    private RabbitMqContainer? _container;
    private IConnection? _connection;

    public string Uri { get; private set; } = string.Empty;

    public string Source { get; private set; } = string.Empty;

    public ILoggerFactory LoggerFactory { get; } = Microsoft.Extensions.Logging.LoggerFactory.Create(b =>
    {
        if (Environment.GetEnvironmentVariable("EDGE_TEST_LOGS") == "1")
        {
            b.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").SetMinimumLevel(LogLevel.Debug);
        }
    });

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("EDGE_RABBITMQ_URI") is { Length: > 0 } fromEnvironment)
        {
            Uri = fromEnvironment;
            Source = "EDGE_RABBITMQ_URI";
        }
        else if (await TryStartContainerAsync() is { } container)
        {
            _container = container;
            Uri = container.GetConnectionString();
            Source = "Testcontainers";
        }
        else
        {
            Uri = await StartLocalNodeAsync();
            Source = "scripts/rabbitmq.sh";
        }

        var factory = new ConnectionFactory { Uri = new Uri(Uri), AutomaticRecoveryEnabled = false };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        _connection = await factory.CreateConnectionAsync(cts.Token);
    }

    /// <summary>Options for a broker on its own stream (and its own exchange, so tests never see each other).</summary>
    public RabbitMqBrokerOptions Options(string stream) => new()
    {
        Uri = Uri,
        StreamName = stream,
        Exchange = stream + ".x",
        ClientName = "edge-test",
        ReconnectDelayMin = TimeSpan.FromMilliseconds(100),
        ReconnectDelayMax = TimeSpan.FromSeconds(1),
        MaxSegmentSizeBytes = 1_000_000,
    };

    /// <summary>Deletes <paramref name="stream"/>, its epoch queue and its exchange when the tests end.</summary>
    public void Track(string stream)
    {
        lock (_createdStreams)
        {
            _createdStreams.Add(stream);
        }
    }

    public RabbitMqBroker CreateBroker(string stream, Action<RabbitMqBrokerOptions>? configure = null)
    {
        var options = Options(stream);
        configure?.Invoke(options);
        Track(stream);

        return new RabbitMqBroker(Microsoft.Extensions.Options.Options.Create(options), LoggerFactory.CreateLogger<RabbitMqBroker>());
    }

    /// <summary>Publishes raw bytes the way a broker-native publisher would, to <paramref name="exchange"/> (default: straight to the stream).</summary>
    public async Task PublishRawAsync(string stream, byte[] body, string? messageId = null, string exchange = "", CancellationToken cancellationToken = default)
    {
        var connection = await ConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), cancellationToken);
        var properties = new BasicProperties { MessageId = messageId, ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
        await channel.BasicPublishAsync(exchange, exchange.Length == 0 ? stream : string.Empty, mandatory: true, properties, body, cancellationToken);
    }

    public async Task DeleteStreamAsync(string stream, CancellationToken cancellationToken = default)
    {
        var connection = await ConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.QueueDeleteAsync(stream, ifUnused: false, ifEmpty: false, cancellationToken: cancellationToken);
    }

    /// <summary>Stops the node's RabbitMQ application (connections drop, data stays), and starts it again after <paramref name="downFor"/>.</summary>
    public async Task RestartAppAsync(TimeSpan downFor, CancellationToken cancellationToken)
    {
        await StopAppAsync(cancellationToken);
        await Task.Delay(downFor, cancellationToken);
        await StartAppAsync(cancellationToken);
    }

    public Task StopAppAsync(CancellationToken cancellationToken) => ControlAsync(["stop_app"], cancellationToken);

    /// <summary>Closes every client connection of the node (the node keeps running).</summary>
    public Task CloseAllConnectionsAsync(CancellationToken cancellationToken) =>
        ControlAsync(["close_all_connections", "edge test: connection cut"], cancellationToken);

    /// <summary>Raises (or clears) a memory alarm: the node then blocks every publishing connection.</summary>
    public Task SetMemoryAlarmAsync(bool on, CancellationToken cancellationToken) =>
        ControlAsync(["set_vm_memory_high_watermark", on ? "0.0000001" : "0.4"], cancellationToken);

    public async Task StartAppAsync(CancellationToken cancellationToken)
    {
        await ControlAsync(["start_app"], cancellationToken);
        await ControlAsync(["await_startup", "--timeout", "60"], cancellationToken);
    }

    /// <summary>The fixture's own connection, opened again when a test cut it (restart, close_all_connections).</summary>
    private async Task<IConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsOpen: true } open)
        {
            return open;
        }

        var factory = new ConnectionFactory { Uri = new Uri(Uri), AutomaticRecoveryEnabled = false };
        _connection = await factory.CreateConnectionAsync(cancellationToken);
        return _connection;
    }

    public async Task DisposeAsync()
    {
        IConnection? connection = null;
        try
        {
            connection = await ConnectionAsync(CancellationToken.None);
        }
        catch (Exception)
        {
            // No node to clean up.
        }

        if (connection is not null)
        {
            string[] streams;
            lock (_createdStreams)
            {
                streams = [.. _createdStreams.Distinct()];
            }

            foreach (var stream in streams)
            {
                try
                {
                    await using var channel = await connection.CreateChannelAsync();
                    await channel.QueueDeleteAsync(stream, false, false);
                    await channel.QueueDeleteAsync(stream + ".edge-epoch", false, false);
                    await channel.ExchangeDeleteAsync(stream + ".x", false);
                }
                catch (Exception)
                {
                    // Best effort: leftovers on a scratch node are harmless.
                }
            }

            await connection.DisposeAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        LoggerFactory.Dispose();
    }

    private async Task ControlAsync(string[] arguments, CancellationToken cancellationToken)
    {
        if (_container is not null)
        {
            var result = await _container.ExecAsync(["rabbitmqctl", .. arguments], cancellationToken);
            Assert.True(result.ExitCode == 0, $"rabbitmqctl {string.Join(' ', arguments)} failed: {result.Stderr}");
            return;
        }

        var start = new ProcessStartInfo("rabbitmqctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-n");
        start.ArgumentList.Add(NodeName);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("rabbitmqctl did not start");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(90), cancellationToken);
        Assert.True(process.ExitCode == 0, $"rabbitmqctl {string.Join(' ', arguments)} failed: {await stderr}");
    }

    private static async Task<RabbitMqContainer?> TryStartContainerAsync()
    {
        if (!File.Exists("/var/run/docker.sock") && Environment.GetEnvironmentVariable("DOCKER_HOST") is null)
        {
            return null;
        }

        try
        {
            var container = new RabbitMqBuilder("rabbitmq:3.13").Build();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await container.StartAsync(cts.Token);
            return container;
        }
        catch (Exception)
        {
            // No usable Docker engine: fall back to a local node.
            return null;
        }
    }

    private static async Task<string> StartLocalNodeAsync()
    {
        var root = AppContext.BaseDirectory;
        while (root is not null && !File.Exists(Path.Combine(root, "Edge.sln")))
        {
            root = Path.GetDirectoryName(root);
        }

        Assert.True(root is not null, "cannot find the repository root (Edge.sln) to run scripts/rabbitmq.sh");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        start.ArgumentList.Add(Path.Combine(root!, "scripts", "rabbitmq.sh"));
        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(process.ExitCode == 0 && lines.Length > 0, $"no RabbitMQ: scripts/rabbitmq.sh exited {process.ExitCode}: {await stderr}");
        return lines[^1];
    }
}

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    /// <summary>One collection: tests that restart the node must not run beside the others.</summary>
    public const string Name = "RabbitMq";
}
