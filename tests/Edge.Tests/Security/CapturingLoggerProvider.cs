using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Edge.Tests.Security;

/// <summary>Keeps every log entry of a test host, so tests can check what was logged (and what never is).</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, int EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public bool Has(int eventId, string? containing = null) =>
        Entries.Any(e => e.EventId == eventId && (containing is null || e.Message.Contains(containing, StringComparison.Ordinal)));

    public string All => string.Join("\n", Entries.Select(e => $"{e.EventId} {e.Category}: {e.Message}"));

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((category, eventId.Id, logLevel, formatter(state, exception) + (exception is null ? string.Empty : " " + exception.Message)));
    }
}
