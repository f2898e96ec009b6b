using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Edge.Transports.Sockets;

/// <summary>
/// The response side of a request served straight off its connection: status and headers,
/// written as an HTTP/1.1 head in front of the first body bytes, and a body delimited by closing
/// the connection (<c>Connection: close</c>), which every HTTP/1.1 client reads.
/// </summary>
internal sealed class DirectExchange : IHttpResponseFeature, IHttpResponseBodyFeature
{
    private readonly TimeProvider _timeProvider;
    private List<(Func<object, Task> Callback, object State)>? _onStarting;
    private Stream? _stream;

    public DirectExchange(PipeWriter output, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        Writer = new HeadFirstWriter(output, this);
    }

    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    public string? ReasonPhrase { get; set; }

    public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();

    [Obsolete("Use IHttpResponseBodyFeature.Stream.")]
    public Stream Body
    {
        get => Stream;
        set => throw new NotSupportedException("The body of a stream served off its connection cannot be replaced.");
    }

    public bool HasStarted { get; private set; }

    public Stream Stream => _stream ??= Writer.AsStream(leaveOpen: true);

    public PipeWriter Writer { get; }

    public void OnStarting(Func<object, Task> callback, object state)
    {
        if (HasStarted)
        {
            throw new InvalidOperationException("The response has already started.");
        }

        (_onStarting ??= []).Add((callback, state));
    }

    public void OnCompleted(Func<object, Task> callback, object state)
    {
        // Nothing here outlives the response; there is nothing to run afterwards.
    }

    public void DisableBuffering()
    {
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ((HeadFirstWriter)Writer).EnsureStarted();
        await Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("Streams served off their connection do not send files.");

    public Task CompleteAsync() => StartAsync();

    /// <summary>Writes the status line and headers; called once, before the first body byte.</summary>
    private void WriteHead(IBufferWriter<byte> output)
    {
        if (_onStarting is { } callbacks)
        {
            _onStarting = null;
            for (var i = callbacks.Count - 1; i >= 0; i--)
            {
                callbacks[i].Callback(callbacks[i].State).GetAwaiter().GetResult();
            }
        }

        HasStarted = true;
        var head = new HeadWriter(output);
        head.Text("HTTP/1.1 ");
        head.Number(StatusCode);
        head.Text(" ");
        head.Text(ReasonPhrase ?? ReasonPhrases.GetReasonPhrase(StatusCode));
        head.Text("\r\nDate: ");
        head.Date(_timeProvider.GetUtcNow());
        head.Text("\r\n");
        foreach (var (name, values) in Headers)
        {
            if (string.Equals(name, HeaderNames.Connection, StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, HeaderNames.Date, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var value in values)
            {
                if (value is null || value.AsSpan().IndexOfAny('\r', '\n') >= 0)
                {
                    continue;
                }

                head.Text(name);
                head.Text(": ");
                head.Text(value);
                head.Text("\r\n");
            }
        }

        head.Text("Connection: close\r\n\r\n");
    }

    /// <summary>Writes the pieces of a response head straight into the body writer.</summary>
    private readonly ref struct HeadWriter(IBufferWriter<byte> output)
    {
        public void Text(string text)
        {
            var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
            output.Advance(Encoding.UTF8.GetBytes(text, span));
        }

        public void Number(int value)
        {
            var span = output.GetSpan(11);
            value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
            output.Advance(written);
        }

        public void Date(DateTimeOffset now)
        {
            var span = output.GetSpan(32);
            now.TryFormat(span, out var written, "r", CultureInfo.InvariantCulture);
            output.Advance(written);
        }
    }

    /// <summary>The body writer: puts the head in front of the first bytes, then forgets the exchange.</summary>
    private sealed class HeadFirstWriter : PipeWriter
    {
        private readonly PipeWriter _inner;
        private DirectExchange? _exchange;

        public HeadFirstWriter(PipeWriter inner, DirectExchange exchange)
        {
            _inner = inner;
            _exchange = exchange;
        }

        public override bool CanGetUnflushedBytes => _inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => _inner.UnflushedBytes;

        public void EnsureStarted()
        {
            if (_exchange is { } exchange)
            {
                _exchange = null;
                exchange.WriteHead(_inner);
            }
        }

        public override void Advance(int bytes) => _inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            EnsureStarted();
            return _inner.GetMemory(sizeHint);
        }

        public override Span<byte> GetSpan(int sizeHint = 0)
        {
            EnsureStarted();
            return _inner.GetSpan(sizeHint);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            EnsureStarted();
            return _inner.FlushAsync(cancellationToken);
        }

        public override void CancelPendingFlush() => _inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => EnsureStarted();
    }
}
