using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Edge.Brokers.RabbitMq.Internal;

/// <summary>
/// Owns the instance's one AMQP connection. Automatic recovery is off: after a loss the next
/// caller connects again, and the live feed re-creates its consumer itself at the right offset.
/// A failed attempt is remembered for <see cref="RabbitMqBrokerOptions.ReconnectDelayMin"/>, so
/// publishers during an outage fail at once instead of each waiting for a connect timeout.
/// </summary>
internal sealed class RabbitMqConnector(RabbitMqBrokerOptions options, ILogger logger, TimeProvider time) : IAsyncDisposable
{
    private readonly ConnectionFactory _factory = RabbitMqUri.CreateFactory(options);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _redactedUri = RabbitMqUri.Redact(options.Uri);
    private IConnection? _connection;
    private long _lastFailureTimestamp;
    private string? _lastFailure = "not connected yet";
    private bool _outageLogged;
    private volatile string? _blocked;
    private bool _disposed;

    /// <summary>Null while connected; otherwise why not (never containing credentials).</summary>
    public string? Problem => _connection is { IsOpen: true } ? null : _lastFailure ?? "not connected";

    /// <summary>
    /// Non-null while the broker blocks publishers (a memory or disk alarm): publishing would
    /// only wait, so it fails at once. Reading continues.
    /// </summary>
    public string? Blocked => _connection is { IsOpen: true } ? _blocked : null;

    public async Task<IConnection> GetAsync(CancellationToken cancellationToken)
    {
        var current = _connection;
        if (current is { IsOpen: true })
        {
            return current;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            current = _connection;
            if (current is { IsOpen: true })
            {
                return current;
            }

            if (_lastFailureTimestamp != 0 && time.GetElapsedTime(_lastFailureTimestamp) < options.ReconnectDelayMin)
            {
                throw new BrokerUnavailableException($"RabbitMQ is unavailable: {_lastFailure}") { RetryAfter = TimeSpan.FromSeconds(1) };
            }

            if (current is not null)
            {
                _connection = null;
                await DisposeQuietlyAsync(current).ConfigureAwait(false);
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(options.ConnectTimeout);
                var connection = await _factory.CreateConnectionAsync(timeout.Token).ConfigureAwait(false);
                connection.ConnectionShutdownAsync += OnShutdownAsync;
                connection.ConnectionBlockedAsync += OnBlockedAsync;
                connection.ConnectionUnblockedAsync += OnUnblockedAsync;
                _blocked = null;
                _connection = connection;
                _lastFailure = null;
                _lastFailureTimestamp = 0;
                _outageLogged = false;
                Log.Connected(logger, _redactedUri, _factory.VirtualHost);
                return connection;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                _lastFailure = Describe(ex);
                _lastFailureTimestamp = time.GetTimestamp();
                if (!_outageLogged)
                {
                    // Once per outage at Warning; every further attempt at Debug.
                    _outageLogged = true;
                    Log.ConnectFailed(logger, _redactedUri, _lastFailure);
                }
                else
                {
                    Log.ConnectRetryFailed(logger, _redactedUri, _lastFailure);
                }
                throw new BrokerUnavailableException($"Cannot connect to RabbitMQ: {_lastFailure}", ex) { RetryAfter = TimeSpan.FromSeconds(1) };
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes the connection so that the next caller reconnects (used after a protocol-level failure).</summary>
    public async Task ResetAsync(IConnection broken, string reason)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (ReferenceEquals(_connection, broken))
            {
                _connection = null;
                _lastFailure = reason;
            }
        }
        finally
        {
            _gate.Release();
        }

        await DisposeQuietlyAsync(broken).ConfigureAwait(false);
    }

    /// <summary>A one-line reason for an exception, safe to log and to show in health.</summary>
    public static string Describe(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null && inner is BrokerUnavailableException or RabbitMQ.Client.Exceptions.BrokerUnreachableException or AggregateException)
        {
            inner = inner.InnerException;
        }

        var message = inner.Message.ReplaceLineEndings(" ");
        return message.Length > 300 ? message[..300] : message;
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_connection is { } connection)
            {
                _connection = null;
                await DisposeQuietlyAsync(connection).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task OnShutdownAsync(object sender, ShutdownEventArgs args)
    {
        if (args.Initiator != ShutdownInitiator.Application)
        {
            _lastFailure = $"connection closed by {args.Initiator}: {args.ReplyCode} {args.ReplyText}";
            Log.ConnectionLost(logger, _lastFailure);
        }

        return Task.CompletedTask;
    }

    private Task OnBlockedAsync(object sender, ConnectionBlockedEventArgs args)
    {
        _blocked = args.Reason;
        Log.ConnectionBlocked(logger, args.Reason);
        return Task.CompletedTask;
    }

    private Task OnUnblockedAsync(object sender, AsyncEventArgs args)
    {
        _blocked = null;
        Log.ConnectionUnblocked(logger);
        return Task.CompletedTask;
    }

    private static async Task DisposeQuietlyAsync(IConnection connection)
    {
        try
        {
            if (connection.IsOpen)
            {
                await connection.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // Closing a broken connection may fail; it is discarded either way.
        }

        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // As above.
        }
    }
}
