using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Edge.Tests.Proxy.Direct;

/// <summary>One client TCP connection speaking hand-written HTTP/1.1, reading responses by their own framing.</summary>
internal sealed class RawHttpConnection : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private readonly Socket _socket;
    private readonly List<byte> _buffered = [];

    private RawHttpConnection(Socket socket)
    {
        _socket = socket;
    }

    public static async Task<RawHttpConnection> ConnectAsync(int port, int? receiveBuffer = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBuffer is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        await socket.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Wait);
        return new RawHttpConnection(socket);
    }

    public async Task SendAsync(string text) => await _socket.SendAsync(Encoding.ASCII.GetBytes(text)).WaitAsync(Wait);

    /// <summary>Reads one response; <paramref name="head"/> when it answers a HEAD request (no body follows).</summary>
    public async Task<RawResponse> ReadResponseAsync(bool head = false, TimeSpan? pauseBetweenReads = null)
    {
        var headText = Encoding.ASCII.GetString(await ReadUntilAsync("\r\n\r\n"u8.ToArray()));
        var lines = headText.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        var response = new RawResponse(status, headText, headers, []);
        if (head || status is 204 or 304 || status < 200)
        {
            return response;
        }

        using var body = new MemoryStream();
        if (response.Header("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            while (true)
            {
                var sizeLine = Encoding.ASCII.GetString(await ReadUntilAsync("\r\n"u8.ToArray()));
                var size = int.Parse(sizeLine.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    await ReadUntilAsync("\r\n"u8.ToArray());
                    break;
                }

                body.Write(await ReadExactlyAsync(size, pauseBetweenReads));
                await ReadExactlyAsync(2);
            }
        }
        else if (response.Header("Content-Length") is { } length)
        {
            body.Write(await ReadExactlyAsync(int.Parse(length, CultureInfo.InvariantCulture), pauseBetweenReads));
        }
        else
        {
            body.Write(await ReadToEndAsync());
        }

        return response with { Body = body.ToArray() };
    }

    /// <summary>Reads a response head only (for a response that does not end, like a stream).</summary>
    public async Task<string> ReadHeadOnlyAsync() => Encoding.ASCII.GetString(await ReadUntilAsync("\r\n\r\n"u8.ToArray()));

    /// <summary>Whether the server closed the connection (a read returns nothing) within the wait.</summary>
    public async Task<bool> ClosedByServerAsync()
    {
        if (_buffered.Count > 0)
        {
            return false;
        }

        var buffer = new byte[1];
        try
        {
            return await _socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Wait) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    public void Dispose() => _socket.Dispose();

    private async Task<byte[]> ReadUntilAsync(byte[] marker)
    {
        while (true)
        {
            var index = IndexOf(_buffered, marker);
            if (index >= 0)
            {
                var taken = _buffered.GetRange(0, index + marker.Length).ToArray();
                _buffered.RemoveRange(0, index + marker.Length);
                return taken;
            }

            await FillAsync();
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count, TimeSpan? pause = null)
    {
        while (_buffered.Count < count)
        {
            if (pause is { } delay)
            {
                await Task.Delay(delay);
            }

            await FillAsync();
        }

        var taken = _buffered.GetRange(0, count).ToArray();
        _buffered.RemoveRange(0, count);
        return taken;
    }

    private async Task<byte[]> ReadToEndAsync()
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var received = await _socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Wait);
            if (received == 0)
            {
                var all = _buffered.ToArray();
                _buffered.Clear();
                return all;
            }

            _buffered.AddRange(buffer.AsSpan(0, received));
        }
    }

    private async Task FillAsync()
    {
        var buffer = new byte[16 * 1024];
        var received = await _socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Wait);
        if (received == 0)
        {
            throw new EndOfStreamException("The server closed the connection.");
        }

        _buffered.AddRange(buffer.AsSpan(0, received));
    }

    private static int IndexOf(List<byte> bytes, byte[] marker)
    {
        for (var i = 0; i <= bytes.Count - marker.Length; i++)
        {
            var match = true;
            for (var j = 0; j < marker.Length && match; j++)
            {
                match = bytes[i + j] == marker[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }
}

internal sealed record RawResponse(int Status, string Head, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public string Text => Encoding.UTF8.GetString(Body);
}
