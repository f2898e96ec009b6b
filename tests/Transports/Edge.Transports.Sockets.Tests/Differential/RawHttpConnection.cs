using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Edge.Transports.Sockets.Tests.Differential;

/// <summary>How a response's body is delimited (RFC 9112 section 6.3).</summary>
internal enum BodyFraming
{
    /// <summary>No body: a response to HEAD, or 1xx, 204, 304.</summary>
    None,
    ContentLength,
    Chunked,

    /// <summary>The body runs until the server closes the connection.</summary>
    Close,
}

/// <summary>A response's status line and header fields, as received.</summary>
internal sealed class RawResponseHead
{
    public RawResponseHead(string statusLine, int status, IReadOnlyList<(string Name, string Value)> headers, BodyFraming framing, long contentLength)
    {
        StatusLine = statusLine;
        Status = status;
        Headers = headers;
        Framing = framing;
        ContentLength = contentLength;
    }

    public string StatusLine { get; }

    public int Status { get; }

    public IReadOnlyList<(string Name, string Value)> Headers { get; }

    public BodyFraming Framing { get; }

    public long ContentLength { get; }

    public IEnumerable<string> Values(string name) =>
        Headers.Where(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);

    public bool Has(string name) => Values(name).Any();

    public string? ContentType => Values("Content-Type").FirstOrDefault();

    public bool IsEventStream => ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;

    public override string ToString() => StatusLine + " | " + string.Join(" | ", Headers.Select(h => h.Name + ": " + h.Value));
}

/// <summary>
/// One TCP connection to the edge on loopback that writes raw request bytes and reads raw
/// HTTP/1.1 responses: status line, header fields, and bodies delimited by Content-Length,
/// chunked transfer coding or the end of the connection. Every read takes a cancellation token.
/// </summary>
internal sealed class RawHttpConnection : IDisposable
{
    private const int MaxHeadBytes = 256 * 1024;

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _readBuffer = new byte[64 * 1024];
    private byte[] _pending = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _eof;

    private RawResponseHead? _current;
    private long _remaining;
    private bool _bodyDone;

    private RawHttpConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Whether the server ended the connection (a FIN, or a reset).</summary>
    public bool Closed => _eof;

    public static async Task<RawHttpConnection> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new RawHttpConnection(tcp);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(bytes, cancellationToken);
        await _stream.FlushAsync(cancellationToken);
    }

    /// <summary>Reads the next response's head (skipping interim 1xx responses other than 101).</summary>
    /// <param name="requestMethod">The method of the request it answers: a response to HEAD has no body.</param>
    public async Task<RawResponseHead> ReadHeadAsync(string requestMethod, CancellationToken cancellationToken)
    {
        while (true)
        {
            var head = await ReadOneHeadAsync(requestMethod, cancellationToken);
            if (head.Status is >= 100 and < 200 and not 101)
            {
                continue;
            }

            _current = head;
            _bodyDone = head.Framing == BodyFraming.None || (head.Framing == BodyFraming.ContentLength && head.ContentLength == 0);
            _remaining = head.Framing == BodyFraming.ContentLength ? head.ContentLength : 0;
            return head;
        }
    }

    /// <summary>The whole body of the current response.</summary>
    public async Task<byte[]> ReadBodyToEndAsync(CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        while (await ReadBodyAsync(cancellationToken) is { } piece)
        {
            body.Write(piece.Span);
        }

        return body.ToArray();
    }

    /// <summary>The next decoded piece of the current response's body, or null at its end.</summary>
    public async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(CancellationToken cancellationToken)
    {
        var head = _current ?? throw new InvalidOperationException("No response head was read.");
        if (_bodyDone)
        {
            return null;
        }

        switch (head.Framing)
        {
            case BodyFraming.ContentLength:
                {
                    if (!await EnsureAsync(1, cancellationToken))
                    {
                        throw new IOException($"The connection ended with {_remaining} bytes of a Content-Length body missing.");
                    }

                    var take = (int)Math.Min(_remaining, _end - _start);
                    var piece = Take(take);
                    _remaining -= take;
                    _bodyDone = _remaining == 0;
                    return piece;
                }

            case BodyFraming.Chunked:
                {
                    if (_remaining == 0)
                    {
                        var sizeLine = await ReadLineAsync(cancellationToken) ?? throw new IOException("The connection ended before a chunk size.");
                        var semicolon = sizeLine.IndexOf(';', StringComparison.Ordinal);
                        var sizeText = (semicolon < 0 ? sizeLine : sizeLine[..semicolon]).Trim();
                        if (!long.TryParse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0)
                        {
                            throw new IOException($"Invalid chunk size line '{sizeLine}'.");
                        }

                        if (size == 0)
                        {
                            // Trailer fields, then the empty line.
                            while ((await ReadLineAsync(cancellationToken) ?? throw new IOException("The connection ended in the trailer section.")).Length > 0)
                            {
                            }

                            _bodyDone = true;
                            return null;
                        }

                        _remaining = size;
                    }

                    if (!await EnsureAsync(1, cancellationToken))
                    {
                        throw new IOException("The connection ended inside a chunk.");
                    }

                    var take = (int)Math.Min(_remaining, _end - _start);
                    var piece = Take(take);
                    _remaining -= take;
                    if (_remaining == 0)
                    {
                        var crlf = await ReadLineAsync(cancellationToken);
                        if (crlf is not { Length: 0 })
                        {
                            throw new IOException($"A chunk's data was not followed by CRLF but by '{crlf}'.");
                        }
                    }

                    return piece;
                }

            case BodyFraming.Close:
                {
                    if (!await EnsureAsync(1, cancellationToken))
                    {
                        _bodyDone = true;
                        return null;
                    }

                    return Take(_end - _start);
                }

            default:
                _bodyDone = true;
                return null;
        }
    }

    public void Dispose() => _tcp.Dispose();

    private async Task<RawResponseHead> ReadOneHeadAsync(string requestMethod, CancellationToken cancellationToken)
    {
        var statusLine = await ReadLineAsync(cancellationToken) ?? throw new IOException("The connection ended before a response.");
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal) || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new IOException($"Not a status line: '{statusLine}'.");
        }

        var headers = new List<(string, string)>();
        var total = statusLine.Length;
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken) ?? throw new IOException("The connection ended inside a response head.");
            if (line.Length == 0)
            {
                break;
            }

            total += line.Length;
            if (total > MaxHeadBytes)
            {
                throw new IOException("The response head is too long.");
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new IOException($"Not a header field: '{line}'.");
            }

            headers.Add((line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }

        var framing = BodyFraming.Close;
        long length = 0;
        if (string.Equals(requestMethod, "HEAD", StringComparison.OrdinalIgnoreCase) || status is >= 100 and < 200 or 204 or 304)
        {
            framing = BodyFraming.None;
        }
        else if (headers.Any(h => string.Equals(h.Item1, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase)))
        {
            var codings = string.Join(',', headers.Where(h => string.Equals(h.Item1, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase)).Select(h => h.Item2));
            framing = codings.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault() is { } last
                && string.Equals(last, "chunked", StringComparison.OrdinalIgnoreCase) ? BodyFraming.Chunked : BodyFraming.Close;
        }
        else if (headers.Where(h => string.Equals(h.Item1, "Content-Length", StringComparison.OrdinalIgnoreCase)).Select(h => h.Item2).Distinct().ToList() is { Count: > 0 } lengths)
        {
            if (lengths.Count != 1 || !long.TryParse(lengths[0], NumberStyles.None, CultureInfo.InvariantCulture, out length))
            {
                throw new IOException($"Invalid Content-Length: {string.Join(", ", lengths)}.");
            }

            framing = BodyFraming.ContentLength;
        }

        return new RawResponseHead(statusLine, status, headers, framing, length);
    }

    /// <summary>A line ended by LF (a CR before it dropped), or null when the connection ended first.</summary>
    private async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var scanned = 0;
        while (true)
        {
            var index = Array.IndexOf(_pending, (byte)'\n', _start + scanned, _end - _start - scanned);
            if (index >= 0)
            {
                var lineEnd = index > _start && _pending[index - 1] == (byte)'\r' ? index - 1 : index;
                var line = Encoding.Latin1.GetString(_pending, _start, lineEnd - _start);
                _start = index + 1;
                return line;
            }

            scanned = _end - _start;
            if (scanned > MaxHeadBytes)
            {
                throw new IOException("A line of the response is too long.");
            }

            if (!await FillAsync(cancellationToken))
            {
                return null;
            }
        }
    }

    private async Task<bool> EnsureAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            if (!await FillAsync(cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    private ReadOnlyMemory<byte> Take(int count)
    {
        var piece = _pending.AsMemory(_start, count).ToArray();
        _start += count;
        return piece;
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_eof)
        {
            return false;
        }

        int read;
        try
        {
            read = await _stream.ReadAsync(_readBuffer, cancellationToken);
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            read = 0;
        }

        if (read == 0)
        {
            _eof = true;
            return false;
        }

        if (_start > 0)
        {
            Buffer.BlockCopy(_pending, _start, _pending, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_pending.Length - _end < read)
        {
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _end + read));
        }

        Buffer.BlockCopy(_readBuffer, 0, _pending, _end, read);
        _end += read;
        return true;
    }
}
