using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Edge.Sockets;

namespace Edge.Proxy.Direct;

/// <summary>
/// One client connection of the direct proxy, driven by its event loop: it reads a request head
/// (peeking first, so a request the proxy does not forward goes to Kestrel unread), sends the
/// rewritten head to a pooled upstream connection, and relays the response as it arrives, framed
/// as the upstream framed it. A client that reads slowly stops the reading from upstream until
/// it catches up. Failures before any response byte reached the client are answered as YARP
/// answers them: 502 when the upstream cannot be reached or answers badly, 504 when it is silent
/// longer than the cluster's activity timeout.
/// </summary>
internal sealed class ProxyConnection
{
    private static readonly byte[] BadGateway = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray();
    private static readonly byte[] GatewayTimeout = "HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray();

    /// <summary>1xx heads passed on before a final one; more is an upstream gone wrong.</summary>
    private const int MaxInterimHeads = 8;

    private readonly ProxyEventLoop _loop;
    private readonly Socket _client;
    private readonly GCHandle _handle;
    private readonly Action<Socket> _toKestrel;
    private State _state = State.Reading;
    private bool _clientReadable;
    private bool _clientWritable = true;
    private bool _clientHangUp;
    private long _lastActivity;
    private long _partialHeadSince;
    private byte[]? _clientAddress;

    // The request in flight.
    private DirectDestination? _destination;
    private byte[]? _request;
    private int _requestLength;
    private int _requestSent;
    private bool _isHead;
    private bool _closeClient;
    private bool _retried;
    private UpstreamConnection? _upstream;

    // Its response.
    private byte[]? _responseHead;
    private int _responseHeadLength;
    private bool _headDone;
    private int _interimHeads;
    private UpstreamResponseHead _response;
    private long _bodyRemaining;
    private ChunkedBodyScanner _chunks;
    private bool _reusable;
    private bool _responseDone;
    private bool _sentAny;
    private byte[]? _pending;
    private int _pendingOffset;
    private int _pendingLength;

    public ProxyConnection(ProxyEventLoop loop, Socket client, Action<Socket> toKestrel)
    {
        _loop = loop;
        _client = client;
        _toKestrel = toKestrel;
        _handle = GCHandle.Alloc(this);
        Token = GCHandle.ToIntPtr(_handle);
        _lastActivity = loop.Now;
    }

    private enum State
    {
        Reading,
        Connecting,
        SendingRequest,
        Relaying,
        Closed,
    }

    /// <summary>This connection's epoll data.</summary>
    public nint Token { get; }

    public bool Closed => _state == State.Closed;

    /// <summary>For a connection that never got to its loop.</summary>
    public void ReleaseHandle() => _handle.Free();

    public void OnEvent(UpstreamConnection? upstream, uint events)
    {
        if (_state == State.Closed)
        {
            return;
        }

        const uint readable = Epoll.In | Epoll.Hup | Epoll.RdHup | Epoll.Err;
        const uint hangUp = Epoll.RdHup | Epoll.Hup | Epoll.Err;
        if (upstream is null)
        {
            _clientReadable |= (events & readable) != 0;
            _clientWritable |= (events & Epoll.Out) != 0;
            _clientHangUp |= (events & hangUp) != 0;
            if ((events & hangUp) != 0 && _state != State.Reading)
            {
                // The client went away mid-request: as Kestrel aborts the request (and YARP the upstream one).
                Abort();
                return;
            }
        }
        else if (ReferenceEquals(upstream, _upstream))
        {
            upstream.Readable |= (events & readable) != 0;
            upstream.Writable |= (events & (Epoll.Out | Epoll.Err | Epoll.Hup)) != 0;
            upstream.HangUp |= (events & hangUp) != 0;
        }

        Drive();
    }

    /// <summary>Applies the timeouts; true when the connection is closed (now or before).</summary>
    public bool CheckTimeouts(bool stopping)
    {
        if (_state == State.Closed)
        {
            return true;
        }

        var idle = Stopwatch.GetElapsedTime(_lastActivity);
        if (_state == State.Reading)
        {
            if (_partialHeadSince != 0 && Stopwatch.GetElapsedTime(_partialHeadSince) > _loop.Proxy.RequestHeadersTimeout)
            {
                // A head that trickles in: Kestrel answers it by its own rules (408).
                HandToKestrel();
            }
            else if (stopping || idle > _loop.Proxy.KeepAliveTimeout)
            {
                CloseClient();
            }
        }
        else if (_destination is { } destination && idle > destination.ActivityTimeout)
        {
            _loop.Proxy.UpstreamTimedOut(destination);
            if (_sentAny)
            {
                Abort();
            }
            else
            {
                Answer(GatewayTimeout);
            }
        }

        return _state == State.Closed;
    }

    /// <summary>Ends both sides at once (an error mid-response, or a failure in the loop).</summary>
    public void Abort()
    {
        if (_upstream is { } upstream)
        {
            _upstream = null;
            upstream.Close(_loop);
        }

        CloseClient();
    }

    private void Drive()
    {
        while (_state != State.Closed)
        {
            switch (_state)
            {
                case State.Reading:
                    if (!_clientReadable || !TryStartRequest())
                    {
                        return;
                    }

                    break;

                case State.Connecting:
                    var upstream = _upstream!;
                    if (!upstream.Writable)
                    {
                        return;
                    }

                    var connected = upstream.CompleteConnect();
                    if (connected != SocketError.Success)
                    {
                        UpstreamFailed($"connecting failed ({connected})");
                        break;
                    }

                    _state = State.SendingRequest;
                    break;

                case State.SendingRequest:
                    if (!_upstream!.Writable || !TrySendRequest())
                    {
                        return;
                    }

                    break;

                case State.Relaying:
                    if (_pendingLength > 0)
                    {
                        if (!_clientWritable || !TryFlushPending())
                        {
                            return;
                        }
                    }
                    else if (_responseDone)
                    {
                        FinishResponse();
                    }
                    else if (!_upstream!.Readable || !TryRelay())
                    {
                        return;
                    }

                    break;
            }
        }
    }

    /// <summary>Looks at the next request; starts forwarding it, hands the connection to Kestrel, or waits for more bytes.</summary>
    private bool TryStartRequest()
    {
        var buffer = _loop.Scratch;
        var peeked = _client.Receive(buffer, 0, ProxyRequestHead.MaxHeadBytes + 1, SocketFlags.Peek, out var error);
        if (error == SocketError.WouldBlock)
        {
            _clientReadable = false;
            if (_clientHangUp)
            {
                CloseClient();
            }

            return false;
        }

        if (error != SocketError.Success || peeked == 0)
        {
            CloseClient();
            return false;
        }

        var outcome = ProxyRequestHead.Read(buffer.AsSpan(0, peeked), _loop.Proxy.Match, out var head);
        if (outcome == ProxyHeadResult.Incomplete)
        {
            // Everything that arrived was looked at; the next bytes raise a new event.
            _clientReadable = false;
            if (_partialHeadSince == 0)
            {
                _partialHeadSince = _loop.Now;
            }

            return false;
        }

        _partialHeadSince = 0;

        if (outcome == ProxyHeadResult.NotDirect || head.Route.Destination is not { } destination)
        {
            HandToKestrel();
            return false;
        }

        var taken = _client.Receive(buffer, 0, head.Length, SocketFlags.None, out error);
        if (error != SocketError.Success || taken != head.Length)
        {
            CloseClient();
            return false;
        }

        _clientReadable = false;
        _clientAddress ??= Encoding.ASCII.GetBytes((_client.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown");
        _request = ArrayPool<byte>.Shared.Rent(head.Length + destination.Authority.Length + destination.PathPrefix.Length + _clientAddress.Length + 128);
        _requestLength = head.WriteUpstream(buffer.AsSpan(0, head.Length), destination, _clientAddress, _request);
        if (_requestLength < 0)
        {
            throw new InvalidOperationException("The upstream request head did not fit its buffer.");
        }

        _requestSent = 0;
        _destination = destination;
        _isHead = head.IsHead;
        _closeClient = head.Close || _clientHangUp;
        _retried = false;
        _lastActivity = _loop.Now;
        _loop.Proxy.Forwarding();
        ConnectUpstream(_loop.TakeIdle(destination.EndPoint));
        return true;
    }

    private void ConnectUpstream(UpstreamConnection? idle)
    {
        var upstream = idle;
        if (upstream is null)
        {
            upstream = UpstreamConnection.Open(_loop, _destination!.EndPoint, out var error);
            if (upstream is null)
            {
                UpstreamFailed($"connecting failed ({error})");
                return;
            }
        }
        else
        {
            upstream.Reused = true;
            upstream.Readable = false;
            upstream.Writable = true;
        }

        upstream.Owner = this;
        _upstream = upstream;
        _state = upstream.Connecting ? State.Connecting : State.SendingRequest;
    }

    private bool TrySendRequest()
    {
        var upstream = _upstream!;
        var sent = upstream.Socket.Send(_request.AsSpan(_requestSent, _requestLength - _requestSent), SocketFlags.None, out var error);
        if (error == SocketError.WouldBlock)
        {
            upstream.Writable = false;
            return false;
        }

        if (error != SocketError.Success)
        {
            UpstreamFailed($"sending the request failed ({error})");
            return true;
        }

        _requestSent += sent;
        if (_requestSent < _requestLength)
        {
            upstream.Writable = false;
            return false;
        }

        _lastActivity = _loop.Now;
        _state = State.Relaying;
        _headDone = false;
        _responseDone = false;
        _responseHeadLength = 0;
        _interimHeads = 0;
        _sentAny = false;
        return true;
    }

    /// <summary>Reads once from upstream and passes what belongs to the response on to the client.</summary>
    private bool TryRelay()
    {
        var upstream = _upstream!;
        var buffer = _loop.Scratch;
        var received = upstream.Socket.Receive(buffer, 0, buffer.Length, SocketFlags.None, out var error);
        if (error == SocketError.WouldBlock)
        {
            upstream.Readable = false;
            return false;
        }

        if (error != SocketError.Success)
        {
            UpstreamFailed($"reading the response failed ({error})");
            return true;
        }

        if (received == 0)
        {
            UpstreamEnded();
            return true;
        }

        if (received < buffer.Length && !upstream.HangUp)
        {
            // Drained: more bytes raise a new event (an end already reported raises none, so it is read next).
            upstream.Readable = false;
        }

        _lastActivity = _loop.Now;
        if (_headDone)
        {
            var body = buffer.AsSpan(0, received);
            var taken = TakeBody(body);
            if (taken >= 0)
            {
                SendToClient(body[..taken]);
            }

            return true;
        }

        ReadOnlySpan<byte> bytes;
        if (_responseHeadLength == 0)
        {
            bytes = buffer.AsSpan(0, received);
        }
        else
        {
            if (_responseHeadLength + received > _responseHead!.Length)
            {
                UpstreamFailed("the response head is longer than " + UpstreamResponseHead.MaxHeadBytes + " bytes");
                return true;
            }

            buffer.AsSpan(0, received).CopyTo(_responseHead.AsSpan(_responseHeadLength));
            _responseHeadLength += received;
            bytes = _responseHead.AsSpan(0, _responseHeadLength);
        }

        RelayHeads(bytes);
        return true;
    }

    /// <summary>Reads the response head(s) at the start of <paramref name="bytes"/>: interim ones are passed on, the final one starts the body.</summary>
    private void RelayHeads(ReadOnlySpan<byte> bytes)
    {
        var output = _loop.HeadScratch;
        var written = 0;
        while (true)
        {
            if (_interimHeads > MaxInterimHeads)
            {
                UpstreamFailed($"the upstream sent more than {MaxInterimHeads} interim (1xx) heads");
                return;
            }

            var status = UpstreamResponseHead.TryRead(bytes, _isHead, out var head);
            if (status == ResponseHeadStatus.Invalid)
            {
                UpstreamFailed("the response is malformed: " + head.Error);
                return;
            }

            if (status == ResponseHeadStatus.Incomplete)
            {
                if (bytes.Length >= UpstreamResponseHead.MaxHeadBytes)
                {
                    UpstreamFailed("the response head is longer than " + UpstreamResponseHead.MaxHeadBytes + " bytes");
                    return;
                }

                // Keep the partial head until the rest arrives.
                var kept = ArrayPool<byte>.Shared.Rent(UpstreamResponseHead.MaxHeadBytes + _loop.Scratch.Length);
                bytes.CopyTo(kept);
                ReturnResponseHead();
                _responseHead = kept;
                _responseHeadLength = bytes.Length;
                SendToClient(output.AsSpan(0, written));
                return;
            }

            if (head.IsInterim)
            {
                // HttpClient (so YARP) passes no 1xx head on: neither does this path.
                bytes = bytes[head.HeadLength..];
                _interimHeads++;
                continue;
            }

            var closeClient = _closeClient || head.Framing == ResponseFraming.UntilClose || _loop.Proxy.Stopping;
            var length = head.WriteClientHead(bytes, output.AsSpan(written), closeClient);
            if (length < 0)
            {
                UpstreamFailed("the response head does not fit the client buffer");
                return;
            }

            // The client gets this edge's HTTP version, as from YARP behind Kestrel (RFC 9112 §2.5).
            output[written + 7] = (byte)'1';
            written += length;
            bytes = bytes[head.HeadLength..];

            _headDone = true;
            _response = head;
            _closeClient = closeClient;
            _reusable = head.KeepAlive && head.Framing != ResponseFraming.UntilClose;
            _bodyRemaining = head.ContentLength;
            _chunks = default;
            var taken = TakeBody(bytes);
            if (taken < 0)
            {
                return;
            }

            if (written + taken <= output.Length)
            {
                bytes[..taken].CopyTo(output.AsSpan(written));
                SendToClient(output.AsSpan(0, written + taken));
            }
            else
            {
                SendToClient(output.AsSpan(0, written));
                if (_state != State.Closed)
                {
                    SendToClient(bytes[..taken]);
                }
            }

            ReturnResponseHead();
            return;
        }
    }

    /// <summary>How many of these body bytes belong to the response (marking it done at its end), or -1 when its framing broke (the connection is then aborted).</summary>
    private int TakeBody(ReadOnlySpan<byte> body)
    {
        int taken;
        switch (_response.Framing)
        {
            case ResponseFraming.None:
                taken = 0;
                _responseDone = true;
                break;
            case ResponseFraming.ContentLength:
                taken = (int)Math.Min(_bodyRemaining, body.Length);
                _bodyRemaining -= taken;
                _responseDone = _bodyRemaining == 0;
                break;
            case ResponseFraming.Chunked:
                var result = _chunks.Advance(body, out taken);
                if (result == ChunkScanResult.Invalid)
                {
                    _loop.Proxy.UpstreamFailed(_destination!, "the chunked body is malformed: " + _chunks.Error);
                    Abort();
                    return -1;
                }

                _responseDone = result == ChunkScanResult.Complete;
                break;
            default:
                taken = body.Length;
                break;
        }

        if (taken < body.Length)
        {
            // Bytes after the response: the upstream does not speak HTTP/1.1 as expected; never reuse it.
            _reusable = false;
        }

        return taken;
    }

    private void SendToClient(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || _state == State.Closed)
        {
            return;
        }

        var sent = 0;
        if (_pendingLength == 0 && _clientWritable)
        {
            sent = _client.Send(bytes, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                sent = 0;
            }
            else if (error != SocketError.Success)
            {
                Abort();
                return;
            }
        }

        _sentAny = true;
        if (sent < bytes.Length)
        {
            _clientWritable = false;
            var rest = bytes[sent..];
            if (_pending is null || _pendingLength + rest.Length > _pending.Length - _pendingOffset)
            {
                var grown = ArrayPool<byte>.Shared.Rent(Math.Max(_pendingLength + rest.Length, 16 * 1024));
                _pending?.AsSpan(_pendingOffset, _pendingLength).CopyTo(grown);
                ReturnPending();
                _pending = grown;
                _pendingOffset = 0;
            }

            rest.CopyTo(_pending.AsSpan(_pendingOffset + _pendingLength));
            _pendingLength += rest.Length;
        }
    }

    private bool TryFlushPending()
    {
        var sent = _client.Send(_pending.AsSpan(_pendingOffset, _pendingLength), SocketFlags.None, out var error);
        if (error == SocketError.WouldBlock)
        {
            _clientWritable = false;
            return false;
        }

        if (error != SocketError.Success)
        {
            Abort();
            return true;
        }

        _lastActivity = _loop.Now;
        _pendingOffset += sent;
        _pendingLength -= sent;
        if (_pendingLength > 0)
        {
            _clientWritable = false;
            return false;
        }

        ReturnPending();
        return true;
    }

    /// <summary>The upstream closed the connection.</summary>
    private void UpstreamEnded()
    {
        if (_headDone && _response.Framing == ResponseFraming.UntilClose)
        {
            _reusable = false;
            _responseDone = true;
            return;
        }

        UpstreamFailed(_headDone ? "the upstream closed the connection mid-response" : "the upstream closed the connection without answering");
    }

    /// <summary>The request failed upstream: sent again once on a new connection if a reused one had gone stale, else answered 502 or cut.</summary>
    private void UpstreamFailed(string reason)
    {
        var upstream = _upstream;
        _upstream = null;
        var stale = upstream is { Reused: true } && !_headDone && _responseHeadLength == 0 && !_sentAny;
        upstream?.Close(_loop);
        ReturnResponseHead();
        if (stale && !_retried)
        {
            _retried = true;
            _requestSent = 0;
            ConnectUpstream(idle: null);
            return;
        }

        _loop.Proxy.UpstreamFailed(_destination!, reason);
        if (_sentAny)
        {
            Abort();
        }
        else
        {
            Answer(BadGateway);
        }
    }

    private void FinishResponse()
    {
        var upstream = _upstream!;
        _upstream = null;
        if (_reusable && !upstream.Readable)
        {
            _loop.ReturnIdle(upstream);
        }
        else
        {
            upstream.Close(_loop);
        }

        ReturnRequest();
        ReturnResponseHead();
        _destination = null;
        _headDone = false;
        _responseDone = false;
        if (_closeClient)
        {
            CloseClient();
            return;
        }

        _state = State.Reading;
        _lastActivity = _loop.Now;
        ReturnPending();
    }

    /// <summary>Answers an error status (nothing of the response was sent) and closes.</summary>
    private void Answer(byte[] response)
    {
        if (_upstream is { } upstream)
        {
            _upstream = null;
            upstream.Close(_loop);
        }

        if (_pendingLength == 0)
        {
            _client.Send(response, SocketFlags.None, out _);
        }

        CloseClient();
    }

    /// <summary>The request is Kestrel's: the connection leaves the loop with the request unread.</summary>
    private void HandToKestrel()
    {
        _state = State.Closed;
        _loop.Unwatch(_client);
        _loop.Release(_handle);
        ReturnRequest();
        ReturnPending();
        _client.Blocking = true;
        _toKestrel(_client);
    }

    private void CloseClient()
    {
        if (_state == State.Closed)
        {
            return;
        }

        _state = State.Closed;
        if (_upstream is { } upstream)
        {
            _upstream = null;
            upstream.Close(_loop);
        }

        try
        {
            _client.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
        }

        _client.Dispose();
        _loop.Release(_handle);
        ReturnRequest();
        ReturnResponseHead();
        ReturnPending();
    }

    private void ReturnRequest()
    {
        if (_request is { } request)
        {
            _request = null;
            ArrayPool<byte>.Shared.Return(request);
        }
    }

    private void ReturnResponseHead()
    {
        if (_responseHead is { } head)
        {
            _responseHead = null;
            _responseHeadLength = 0;
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    private void ReturnPending()
    {
        if (_pending is { } pending && _pendingLength == 0)
        {
            _pending = null;
            _pendingOffset = 0;
            ArrayPool<byte>.Shared.Return(pending);
        }
    }
}
