using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Runtime.Versioning;
using System.Text;
using Edge.Testing;
using Edge.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Edge.Tests.Tls;

/// <summary>
/// <c>Edge:Tls:ReleaseIdleBuffers</c>: each TLS connection's OpenSSL <c>SSL</c> has
/// <c>SSL_MODE_RELEASE_BUFFERS</c> set (read back from the server's own <see cref="SslStream"/>
/// with <c>SSL_get_mode</c>), and streams over it get everything they got before.
/// </summary>
public sealed class TlsIdleBuffersTests
{
    private const long ReleaseBuffers = 0x10;
    private static readonly TimeSpan Wait = TlsTestKit.Wait;

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task ReleaseIdleBuffers_On_SetsTheModeOnEveryConnectionsSsl(string version)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        var probe = new ServerSslStreams();
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key), configureServices: probe.Register);
        Assert.True(edge.Services.GetRequiredService<TlsIdleBuffers>().Enabled);
        using var client = TlsTestKit.Client(TlsTestKit.Https(edge), Version.Parse(version));

        await using var stream = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c");
        Assert.Equal(Version.Parse(version), stream.Response.Version);
        Assert.Equal(["ok"], (await stream.ReadFrameAsync(Wait)).Comments);

        var modes = probe.Modes();
        Assert.NotEmpty(modes);
        Assert.All(modes, mode => Assert.Equal(ReleaseBuffers, mode & ReleaseBuffers));
    }

    [Fact]
    public async Task ReleaseIdleBuffers_Off_LeavesTheModeUnset()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        var probe = new ServerSslStreams();
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key, ("Edge:Tls:ReleaseIdleBuffers", "false")), configureServices: probe.Register);
        Assert.False(edge.Services.GetRequiredService<TlsIdleBuffers>().Enabled);
        using var client = TlsTestKit.Client(TlsTestKit.Https(edge), HttpVersion.Version11);

        await using var stream = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c");
        Assert.Equal(["ok"], (await stream.ReadFrameAsync(Wait)).Comments);

        var modes = probe.Modes();
        Assert.NotEmpty(modes);
        Assert.All(modes, mode => Assert.Equal(0, mode & ReleaseBuffers));
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Stream_WithTheModeOn_GetsHello_LargeAndManySmallEvents_AndReplay(string version)
    {
        using var files = new TestCertificates();
        var (cert, key) = files.WritePem("edge", TestCertificates.Create("edge.test"));
        var probe = new ServerSslStreams();
        await using var edge = await EdgeTestHost.StartAsync(TlsTestKit.Settings(cert, key), configureServices: probe.Register);
        using var client = TlsTestKit.Client(TlsTestKit.Https(edge), Version.Parse(version));
        var large = LargeData(40_000);
        var small = Enumerable.Range(1, 300).Select(i => $"small-{i}").ToList();

        var first = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c");
        Assert.Equal(Version.Parse(version), first.Response.Version);
        Assert.Equal(["ok"], (await first.ReadFrameAsync(Wait)).Comments);

        // Published over TLS too: a request body of several records read with the mode on.
        await TlsTestKit.PublishAsync(client, $$"""{"channel":"c","data":"{{large}}"}""");
        Assert.Equal(large, (await first.ReadEventAsync(Wait)).Data);
        var cursor = first.LastEventId;
        Assert.NotNull(cursor);
        await TlsTestKit.PublishAsync(client, "[" + string.Join(",", small.Select(d => $$"""{"channel":"c","data":"{{d}}"}""")) + "]");
        Assert.Equal(small, (await first.ReadEventsAsync(small.Count, Wait)).Select(e => e.Data));
        await first.DisposeAsync();

        await using var resumed = await SseTestClient.ConnectAsync(client, ownsClient: false, "/events?channels=c", lastEventId: cursor);
        Assert.Equal(small, (await resumed.ReadEventsAsync(small.Count, Wait)).Select(e => e.Data));
        await TlsTestKit.PublishAsync(client, $$"""{"channel":"c","data":"{{large}}"}""");
        Assert.Equal(large, (await resumed.ReadEventAsync(Wait)).Data);
        Assert.True(await resumed.NoEventWithinAsync(TimeSpan.FromMilliseconds(300)));

        if (OperatingSystem.IsLinux())
        {
            var modes = probe.Modes();
            Assert.NotEmpty(modes);
            Assert.All(modes, mode => Assert.Equal(ReleaseBuffers, mode & ReleaseBuffers));
        }
    }

    /// <summary>Varied text (a run of one byte would tell nothing about record boundaries).</summary>
    private static string LargeData(int length)
    {
        var text = new StringBuilder(length);
        for (var i = 0; text.Length < length; i++)
        {
            text.Append(i).Append(' ');
        }

        return text.ToString(0, length);
    }

    /// <summary>Keeps the server's <see cref="SslStream"/> of every HTTPS request the edge serves, to read its SSL mode.</summary>
    private sealed class ServerSslStreams : IStartupFilter
    {
        private readonly ConcurrentDictionary<SslStream, bool> _streams = new();

        public void Register(IServiceCollection services) => services.AddSingleton<IStartupFilter>(this);

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Features.Get<ISslStreamFeature>()?.SslStream is { } stream)
                {
                    _streams.TryAdd(stream, true);
                }

                return nextMiddleware(context);
            });
            next(app);
        };

        /// <summary>The SSL mode of each connection still open (a closed one has no SSL left to read).</summary>
        [SupportedOSPlatform("linux")]
        public List<long> Modes()
        {
            var (binding, failure) = SslStreamOpenSsl.Shared;
            Assert.True(binding is not null, failure);
            var modes = new List<long>();
            foreach (var stream in _streams.Keys)
            {
                try
                {
                    if (binding.GetMode(stream) is { } mode)
                    {
                        modes.Add(mode);
                    }
                }
                catch (ObjectDisposedException)
                {
                    // Closed while being read.
                }
            }

            return modes;
        }
    }
}
