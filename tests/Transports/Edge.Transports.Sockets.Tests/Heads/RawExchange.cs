using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Edge.Transports.Sockets.Tests.Heads;

/// <summary>Sends raw bytes on a new loopback connection and reads one HTTP/1.1 response (or the close), within a time limit.</summary>
internal static class RawExchange
{
    /// <summary>The status (-1 when the time ran out, 0 when the connection closed, or the time ran out, before a status line) and the body read by its Content-Length.</summary>
    public static async Task<(int Status, string Body)> SendAsync(int port, ReadOnlyMemory<byte> request, TimeSpan timeout, bool needBody = false, bool halfClose = false)
    {
        using var limit = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var received = new List<byte>();
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), limit.Token);
            await socket.SendAsync(request, SocketFlags.None, limit.Token);
            if (halfClose)
            {
                socket.Shutdown(SocketShutdown.Send);
            }

            var buffer = new byte[8192];
            for (var reads = 0; reads < 10_000; reads++)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
                if (n == 0)
                {
                    break;
                }

                received.AddRange(buffer.AsSpan(0, n));
                if (TryResponse(received, out var status, out var body, out _) && (body is not null || !needBody))
                {
                    return (status, body ?? string.Empty);
                }
            }
        }
        catch (OperationCanceledException)
        {
            return (-1, "timed out");
        }
        catch (SocketException ex)
        {
            return (0, ex.SocketErrorCode.ToString());
        }

        return TryResponse(received, out var s, out var b, out _) ? (s, b ?? string.Empty) : (0, "closed");
    }

    /// <summary>
    /// Sends <paramref name="request"/> split at <paramref name="cuts"/> (a short pause between
    /// pieces), then half-closes; the status of the answer, 0 for a close without one, -1 for neither in time.
    /// </summary>
    public static async Task<(int Status, string Detail)> SendInPiecesAsync(int port, byte[] request, int[] cuts, TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var received = new List<byte>();
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), limit.Token);
            var from = 0;
            foreach (var cut in cuts.Append(request.Length))
            {
                if (cut > from)
                {
                    await socket.SendAsync(request.AsMemory(from, cut - from), SocketFlags.None, limit.Token);
                    from = cut;
                    await Task.Delay(10, limit.Token);
                }
            }

            socket.Shutdown(SocketShutdown.Send);
            var buffer = new byte[8192];
            for (var reads = 0; reads < 10_000; reads++)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
                if (n == 0)
                {
                    break;
                }

                received.AddRange(buffer.AsSpan(0, n));
                if (TryResponse(received, out var status, out _, out _))
                {
                    return (status, "answered");
                }
            }
        }
        catch (OperationCanceledException)
        {
            return (-1, "timed out");
        }
        catch (SocketException ex)
        {
            return (0, ex.SocketErrorCode.ToString());
        }

        return TryResponse(received, out var s, out _, out _) ? (s, "answered") : (0, "closed");
    }

    /// <summary>Whether a status line arrived; the body once the head and Content-Length bytes are in (null while incomplete; empty without Content-Length).</summary>
    private static bool TryResponse(List<byte> received, out int status, out string? body, out bool headComplete)
    {
        var text = Encoding.Latin1.GetString(received.ToArray());
        status = 0;
        body = null;
        headComplete = false;
        var lineEnd = text.IndexOf("\r\n", StringComparison.Ordinal);
        if (lineEnd < 12 || !text.StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(text.AsSpan(9, 3), out status))
        {
            return false;
        }

        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headEnd < 0)
        {
            // A status line is an answer; a stream's head and events may follow without an end.
            return true;
        }

        headComplete = true;
        var length = text[..headEnd].Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault(-1);
        var bodyBytes = received.Count - (headEnd + 4);
        if (length < 0)
        {
            body = string.Empty;
        }
        else if (bodyBytes >= length)
        {
            body = Encoding.UTF8.GetString(received.ToArray(), headEnd + 4, length);
        }

        return true;
    }
}
