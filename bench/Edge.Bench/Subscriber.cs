using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace Edge.Bench;

/// <summary>
/// One SSE stream over a raw socket bound to a loopback source address (and, with
/// <see cref="Target.Tls"/>, an <see cref="SslStream"/> over that socket): a minimal HTTP/1.1 GET,
/// an incremental chunked decoder and a WHATWG-style incremental SSE parser. Payloads
/// <c>"{seq} {timestamp}"</c> are checked against a per-stream bitmap (lost, duplicated) and
/// their publish→receive latency is recorded. Per stream it also counts events that arrive out of
/// order (a new sequence number below the highest seen) and, on a resumed connection, the time
/// from the connect to the first event (<see cref="GroupStats.Replay"/>).
/// </summary>
internal sealed class Subscriber
{
    private const int IpBindAddressNoPort = 24; // IP_BIND_ADDRESS_NO_PORT: pick the port at connect (4-tuple), not at bind
    private static readonly double MicrosPerTick = 1_000_000.0 / Stopwatch.Frequency;

    private readonly GroupStats _stats;
    private readonly int _bufferSize;
    private Socket? _socket;
    private SslStream? _tls;
    private Task _loop = Task.CompletedTask;
    private TaskCompletionSource<bool> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _cutting;

    // HTTP
    private byte[] _hdr = new byte[1024];
    private int _hdrLen;
    private bool _inBody;
    private bool _chunked;
    private int _cState;
    private long _cSize;
    private long _cRemaining;
    private bool _cDigit;
    private bool _cExt;

    // SSE
    private byte[] _line = new byte[256];
    private int _lineLen;
    private bool _skipLf;
    private byte[] _data = new byte[128];
    private int _dataLen;
    private bool _hasData;
    private bool _gapEvent;
    private string? _idBuffer;
    private long _now;

    // delivery bookkeeping
    private ulong[] _seen = new ulong[2];
    private long _highest = -1;
    private long _connectStarted;
    private bool _awaitingFirst;

    public Subscriber(int index, string channel, IPAddress source, GroupStats stats, int bufferSize)
    {
        Index = index;
        Channel = channel;
        Source = source;
        _stats = stats;
        _bufferSize = bufferSize;
    }

    public int Index { get; }

    public string Channel { get; }

    public IPAddress Source { get; }

    public string? LastEventId { get; private set; }

    public bool Open { get; private set; }

    public long Events { get; private set; }

    public long Unique { get; private set; }

    public long Duplicates { get; private set; }

    public long Gaps { get; private set; }

    public int LastStatus { get; private set; }

    public long UnexpectedCloses { get; private set; }

    /// <summary>New sequence numbers that arrived below the highest one already seen.</summary>
    public long OutOfOrder { get; private set; }

    /// <summary>The last <c>retry:</c> the server sent (ms); null until one arrives.</summary>
    public int? RetryMilliseconds { get; private set; }

    /// <summary>Stopwatch timestamp of the moment the last open stream ended (server close, reset, cut).</summary>
    public long ClosedTimestamp { get; private set; }

    /// <summary>Sent as the <c>X-Bench-Client</c> header, so a relay can tell clients apart; null = none.</summary>
    public string? ClientTag { get; init; }

    /// <summary>True when this stream received sequence number <paramref name="seq"/> at least once.</summary>
    public bool Saw(long seq)
    {
        var word = (int)(seq >> 6);
        return seq >= 0 && word < _seen.Length && (_seen[word] & (1UL << (int)(seq & 63))) != 0;
    }

    /// <summary>Connects and waits for the response headers; true when the answer is 200.</summary>
    public async Task<bool> ConnectAsync(Target target, bool resume, TimeSpan timeout, CancellationToken ct)
    {
        await CloseAsync().ConfigureAwait(false);
        ResetParser();
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SslStream? tls = null;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            s.SetRawSocketOption((int)SocketOptionLevel.IP, IpBindAddressNoPort, BitConverter.GetBytes(1));
            s.Bind(new IPEndPoint(Source, 0));
            await s.ConnectAsync(target.Server, cts.Token).ConfigureAwait(false);
            _connectStarted = Stopwatch.GetTimestamp();
            _awaitingFirst = resume && LastEventId is not null;
            var request = target.SubscribeRequest(Channel, resume ? LastEventId : null, ClientTag);
            if (target.Tls)
            {
                tls = new SslStream(new NetworkStream(s, ownsSocket: false), leaveInnerStreamOpen: false);
                await tls.AuthenticateAsClientAsync(TlsClient.Options(target, SslApplicationProtocol.Http11), cts.Token).ConfigureAwait(false);
                _stats.NoteTls(tls);
                await tls.WriteAsync(request, cts.Token).ConfigureAwait(false);
            }
            else
            {
                await s.SendAsync(request, SocketFlags.None, cts.Token).ConfigureAwait(false);
            }

            _headers = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _socket = s;
            _tls = tls;
            _cutting = false;
            _loop = tls is null ? Task.Run(() => ReceiveLoopAsync(s)) : Task.Run(() => ReceiveLoopAsync(tls));
            var ok = await _headers.Task.WaitAsync(cts.Token).ConfigureAwait(false);
            if (!ok)
            {
                await CloseAsync().ConfigureAwait(false);
            }

            return ok;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or ObjectDisposedException or AuthenticationException)
        {
            _stats.NoteError(e.GetType().Name + ":" + (e is SocketException se ? se.SocketErrorCode.ToString() : e.Message));
            _cutting = true;
            tls?.Dispose();
            s.Dispose();
            _socket = null;
            _tls = null;
            return false;
        }
    }

    /// <summary>Closes the stream from the client side (a cut) and waits for its reader to stop.</summary>
    public async Task CloseAsync()
    {
        var s = _socket;
        if (s is null)
        {
            return;
        }

        var tls = _tls;
        _cutting = true;
        _socket = null;
        _tls = null;
        try
        {
            s.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        tls?.Dispose();
        s.Dispose();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private async Task ReceiveLoopAsync(Socket s)
    {
        var buffer = new byte[_bufferSize];
        try
        {
            while (true)
            {
                var n = await s.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                _now = Stopwatch.GetTimestamp();
                if (!Feed(buffer.AsSpan(0, n)))
                {
                    break;
                }
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (Open && !_cutting)
            {
                UnexpectedCloses++;
                _stats.NoteClose();
            }

            if (Open)
            {
                ClosedTimestamp = Stopwatch.GetTimestamp();
            }

            Open = false;
            _headers.TrySetResult(false);
        }
    }

    /// <summary>The same loop over TLS: one <see cref="SslStream.ReadAsync(Memory{byte}, CancellationToken)"/> per record batch.</summary>
    private async Task ReceiveLoopAsync(SslStream tls)
    {
        var buffer = new byte[_bufferSize];
        try
        {
            while (true)
            {
                var n = await tls.ReadAsync(buffer).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                _now = Stopwatch.GetTimestamp();
                if (!Feed(buffer.AsSpan(0, n)))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (AuthenticationException)
        {
        }
        finally
        {
            if (Open && !_cutting)
            {
                UnexpectedCloses++;
                _stats.NoteClose();
            }

            if (Open)
            {
                ClosedTimestamp = Stopwatch.GetTimestamp();
            }

            Open = false;
            _headers.TrySetResult(false);
        }
    }

    private void ResetParser()
    {
        _hdrLen = 0;
        _inBody = false;
        _chunked = false;
        _cState = 0;
        _cSize = 0;
        _cRemaining = 0;
        _cDigit = false;
        _cExt = false;
        _lineLen = 0;
        _skipLf = false;
        _dataLen = 0;
        _hasData = false;
        _gapEvent = false;
        _idBuffer = LastEventId;
    }

    /// <summary>Returns false when the stream must stop (bad status, end of body).</summary>
    private bool Feed(ReadOnlySpan<byte> data)
    {
        if (!_inBody)
        {
            if (_hdrLen + data.Length > _hdr.Length)
            {
                if (_hdrLen + data.Length > 64 * 1024)
                {
                    return false;
                }

                Array.Resize(ref _hdr, Math.Max(_hdr.Length * 2, _hdrLen + data.Length));
            }

            data.CopyTo(_hdr.AsSpan(_hdrLen));
            _hdrLen += data.Length;
            var end = _hdr.AsSpan(0, _hdrLen).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                return true;
            }

            var head = Encoding.ASCII.GetString(_hdr, 0, end);
            var status = 0;
            var sp = head.IndexOf(' ', StringComparison.Ordinal);
            if (sp > 0 && head.Length >= sp + 4)
            {
                _ = int.TryParse(head.AsSpan(sp + 1, 3), out status);
            }

            LastStatus = status;
            _chunked = head.Contains("\ntransfer-encoding: chunked", StringComparison.OrdinalIgnoreCase);
            _inBody = true;
            if (status != 200)
            {
                _stats.NoteError("status:" + status);
                _headers.TrySetResult(false);
                return false;
            }

            Open = true;
            _headers.TrySetResult(true);
            var rest = _hdr.AsSpan(end + 4, _hdrLen - end - 4);
            return rest.IsEmpty || Body(rest);
        }

        return Body(data);
    }

    private bool Body(ReadOnlySpan<byte> data)
    {
        if (!_chunked)
        {
            Sse(data);
            return true;
        }

        var i = 0;
        while (i < data.Length)
        {
            switch (_cState)
            {
                case 0:
                {
                    var b = data[i++];
                    if (b == (byte)'\n')
                    {
                        if (_cDigit && _cSize == 0)
                        {
                            return false; // last chunk: the server ended the stream
                        }

                        _cRemaining = _cSize;
                        _cSize = 0;
                        _cDigit = false;
                        _cExt = false;
                        _cState = 1;
                    }
                    else if (b == (byte)';')
                    {
                        _cExt = true;
                    }
                    else if (!_cExt && b != (byte)'\r')
                    {
                        var v = b is >= (byte)'0' and <= (byte)'9' ? b - '0' : (b | 0x20) is >= 'a' and <= 'f' ? (b | 0x20) - 'a' + 10 : -1;
                        if (v < 0)
                        {
                            return false;
                        }

                        _cSize = (_cSize * 16) + v;
                        _cDigit = true;
                    }

                    break;
                }

                case 1:
                {
                    var take = (int)Math.Min(_cRemaining, data.Length - i);
                    Sse(data.Slice(i, take));
                    i += take;
                    _cRemaining -= take;
                    if (_cRemaining == 0)
                    {
                        _cState = 2;
                    }

                    break;
                }

                default:
                    if (data[i++] == (byte)'\n')
                    {
                        _cState = 0;
                    }

                    break;
            }
        }

        return true;
    }

    private void Sse(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_skipLf)
            {
                _skipLf = false;
                if (data[0] == (byte)'\n')
                {
                    data = data[1..];
                    continue;
                }
            }

            var eol = data.IndexOfAny((byte)'\r', (byte)'\n');
            var part = eol < 0 ? data : data[..eol];
            if (_lineLen + part.Length > _line.Length)
            {
                Array.Resize(ref _line, Math.Max(_line.Length * 2, _lineLen + part.Length));
            }

            part.CopyTo(_line.AsSpan(_lineLen));
            _lineLen += part.Length;
            if (eol < 0)
            {
                return;
            }

            _skipLf = data[eol] == (byte)'\r';
            data = data[(eol + 1)..];
            Line(_line.AsSpan(0, _lineLen));
            _lineLen = 0;
        }
    }

    private void Line(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty)
        {
            Dispatch();
            return;
        }

        if (line[0] == (byte)':')
        {
            return;
        }

        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            if (_dataLen + value.Length + 1 > _data.Length)
            {
                Array.Resize(ref _data, Math.Max(_data.Length * 2, _dataLen + value.Length + 1));
            }

            value.CopyTo(_data.AsSpan(_dataLen));
            _dataLen += value.Length;
            _data[_dataLen++] = (byte)'\n';
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            _gapEvent = value.SequenceEqual("edge-gap"u8);
        }
        else if (field.SequenceEqual("retry"u8))
        {
            if (Utf8Parser.TryParse(value, out int ms, out var used) && used == value.Length)
            {
                RetryMilliseconds = ms;
            }
        }
        else if (field.SequenceEqual("id"u8))
        {
            if (value.IndexOf((byte)0) < 0)
            {
                _idBuffer = Encoding.ASCII.GetString(value);
            }
        }
    }

    private void Dispatch()
    {
        LastEventId = _idBuffer;
        if (!_hasData)
        {
            _gapEvent = false;
            return;
        }

        var payload = _data.AsSpan(0, _dataLen - 1);
        if (_gapEvent)
        {
            Gaps++;
            _stats.NoteGap();
        }
        else if (Utf8Parser.TryParse(payload, out long seq, out var used) && used < payload.Length && payload[used] == (byte)' '
            && Utf8Parser.TryParse(payload[(used + 1)..], out long sent, out _))
        {
            Delivered(seq, sent);
        }

        _dataLen = 0;
        _hasData = false;
        _gapEvent = false;
    }

    private void Delivered(long seq, long sentTimestamp)
    {
        Events++;
        _stats.Latency.Record((long)((_now - sentTimestamp) * MicrosPerTick));
        if (_awaitingFirst)
        {
            _awaitingFirst = false;
            _stats.Replay.Record((long)((_now - _connectStarted) * MicrosPerTick));
        }

        if (seq < 0 || seq > 50_000_000)
        {
            return;
        }

        var word = (int)(seq >> 6);
        if (word >= _seen.Length)
        {
            Array.Resize(ref _seen, Math.Max(_seen.Length * 2, word + 1));
        }

        var bit = 1UL << (int)(seq & 63);
        if ((_seen[word] & bit) != 0)
        {
            Duplicates++;
        }
        else
        {
            _seen[word] |= bit;
            Unique++;
            if (seq < _highest)
            {
                OutOfOrder++;
            }
            else
            {
                _highest = seq;
            }
        }
    }
}

/// <summary>Counters shared by the subscribers of one process.</summary>
internal sealed class GroupStats
{
    private long _closes;
    private long _gaps;
    private readonly Dictionary<string, int> _errors = new(StringComparer.Ordinal);

    public Histogram Latency { get; } = new();

    /// <summary>Resumed connections: connect → first event received (µs).</summary>
    public Histogram Replay { get; } = new();

    /// <summary>What the first TLS stream negotiated (protocol, cipher suite, ALPN); null in clear.</summary>
    public string? Tls { get; private set; }

    public void NoteTls(SslStream tls)
    {
        if (Tls is null)
        {
            Tls = TlsClient.Describe(tls);
        }
    }

    public long Closes => Interlocked.Read(ref _closes);

    public long GapsTotal => Interlocked.Read(ref _gaps);

    public void NoteClose() => Interlocked.Increment(ref _closes);

    public void NoteGap() => Interlocked.Increment(ref _gaps);

    public void NoteError(string what)
    {
        lock (_errors)
        {
            _errors[what] = _errors.GetValueOrDefault(what) + 1;
        }
    }

    public Dictionary<string, int> Errors()
    {
        lock (_errors)
        {
            return new Dictionary<string, int>(_errors, StringComparer.Ordinal);
        }
    }
}
