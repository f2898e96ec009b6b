using Edge.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Edge.Transports.Sockets.Tests.Differential;

/// <summary>Starts the edges the stateless cases share (one per profile), lazily, and stops them at the end.</summary>
public sealed class DifferentialEdges : IAsyncLifetime
{
    private readonly Dictionary<EdgeProfile, Task<EdgeTestHost>> _edges = [];
    private readonly Lock _gate = new();

    internal Task<EdgeTestHost> GetAsync(EdgeProfile profile)
    {
        lock (_gate)
        {
            if (!_edges.TryGetValue(profile, out var edge))
            {
                _edges[profile] = edge = StartAsync(profile);
            }

            return edge;
        }
    }

    internal static Task<EdgeTestHost> StartAsync(EdgeProfile profile) => EdgeTestHost.StartAsync(EdgeProfiles.Settings(profile));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var edge in _edges.Values)
        {
            if (edge.IsCompletedSuccessfully)
            {
                await edge.Result.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
    }
}

/// <summary>
/// The differential suite: every request variant of <see cref="DifferentialCatalogue"/> is sent
/// to the direct path (first request of a fresh connection) and to the Kestrel path (after a
/// health check on the same connection) of the same edge, and must get the same status, the same
/// contract headers and the same body or events. Any difference fails that variant's row.
/// </summary>
[Trait("Category", "Differential")]
public sealed class DifferentialTests : IClassFixture<DifferentialEdges>
{
    /// <summary>The whole case, edge start and arrangement included.</summary>
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);

    private readonly DifferentialEdges _edges;
    private readonly ITestOutputHelper _output;

    public DifferentialTests(DifferentialEdges edges, ITestOutputHelper output)
    {
        _edges = edges;
        _output = output;
    }

    public static TheoryData<string> Cases => new(DifferentialCatalogue.Cases.Keys);

    [Fact]
    public void TheCatalogue_HasAtLeastSixtyVariants() => Assert.True(DifferentialCatalogue.Cases.Count >= 60, $"{DifferentialCatalogue.Cases.Count} variants");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DirectAndKestrel_AnswerAlike(string variant)
    {
        var @case = DifferentialCatalogue.Cases[variant];
        using var timeout = new CancellationTokenSource(CaseTimeout);
        var fresh = @case.FreshEdge ? await DifferentialEdges.StartAsync(@case.Profile).WaitAsync(timeout.Token) : null;
        try
        {
            var edge = fresh ?? await _edges.GetAsync(@case.Profile).WaitAsync(timeout.Token);
            using var context = new CaseContext(edge, timeout.Token);
            if (@case.Arrange is { } arrange)
            {
                await arrange(context).WaitAsync(timeout.Token);
            }

            var differences = await DifferentialRunner.RunAsync(@case, context, _output.WriteLine).WaitAsync(timeout.Token);
            Assert.True(differences.Count == 0, $"{variant}:\n  - " + string.Join("\n  - ", differences));
        }
        finally
        {
            if (fresh is not null)
            {
                await fresh.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
    }
}
