using System.Net;
using System.Text;
using System.Threading.Channels;

namespace Edge.Testing;

/// <summary>
/// An SSE client for tests: opens a stream, parses it per the WHATWG rules into frames, and
/// tracks the last event id the way a browser does. Every wait has a timeout.
/// </summary>
public sealed class SseTestClient : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly bool _ownsClient;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SseFrame> _frames = Channel.CreateUnbounded<SseFrame>();
    private readonly StringBuilder _raw = new();
    private Task? _reader;

    private SseTestClient(HttpClient client, bool ownsClient, HttpResponseMessage response)
    {
        _client = client;
        _ownsClient = ownsClient;
        Response = response;
    }

    public HttpResponseMessage Response { get; }

    public HttpStatusCode StatusCode => Response.StatusCode;

    /// <summary>
    /// The last event id of the frames read so far, as a browser keeps it (updated by id lines,
    /// even without data). Frames received but not yet read do not count.
    /// </summary>
    public string? LastEventId { get; private set; }

    /// <summary>True once the server ended the stream.</summary>
    public bool Ended { get; private set; }

    public string RawText
    {
        get
        {
            lock (_raw)
            {
                return _raw.ToString();
            }
        }
    }

    public static async Task<SseTestClient> ConnectAsync(Uri baseAddress, string pathAndQuery, string? lastEventId = null, IDictionary<string, string>? headers = null, CancellationToken cancellationToken = default)
    {
        var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        return await ConnectAsync(client, ownsClient: true, pathAndQuery, lastEventId, headers, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<SseTestClient> ConnectAsync(HttpClient client, bool ownsClient, string pathAndQuery, string? lastEventId = null, IDictionary<string, string>? headers = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        var sse = new SseTestClient(client, ownsClient, response) { LastEventId = lastEventId };
        if (response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            sse._reader = Task.Run(sse.ReadLoopAsync);
        }

        return sse;
    }

    /// <summary>The next block that dispatches an event (comments and id-only blocks are skipped).</summary>
    public async Task<SseFrame> ReadEventAsync(TimeSpan? timeout = null)
    {
        // One deadline for the whole wait, however many comments and heartbeats arrive meanwhile.
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"No SSE event within {limit}. Received so far:\n{RawText}");
            }

            var frame = await ReadFrameAsync(left).ConfigureAwait(false);
            if (frame.IsEvent)
            {
                return frame;
            }
        }
    }

    /// <summary>Reads events until <paramref name="count"/> have arrived.</summary>
    public async Task<List<SseFrame>> ReadEventsAsync(int count, TimeSpan? timeout = null)
    {
        var events = new List<SseFrame>(count);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (events.Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Received {events.Count} of {count} events.");
            }

            events.Add(await ReadEventAsync(left).ConfigureAwait(false));
        }

        return events;
    }

    /// <summary>The next block of any kind.</summary>
    public async Task<SseFrame> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            var frame = await _frames.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
            if (frame.Id is not null)
            {
                LastEventId = frame.Id;
            }

            return frame;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No SSE frame within {timeout ?? TimeSpan.FromSeconds(20)}. Received so far:\n{RawText}");
        }
        catch (ChannelClosedException)
        {
            throw new EndOfStreamException($"The stream ended. Received:\n{RawText}");
        }
    }

    /// <summary>True when no event arrives within <paramref name="quiet"/> (comments and id-only blocks do not count).</summary>
    public async Task<bool> NoEventWithinAsync(TimeSpan quiet)
    {
        var deadline = DateTime.UtcNow + quiet;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return true;
            }

            try
            {
                var frame = await ReadFrameAsync(left).ConfigureAwait(false);
                if (frame.IsEvent)
                {
                    return false;
                }
            }
            catch (TimeoutException)
            {
                return true;
            }
            catch (EndOfStreamException)
            {
                return true;
            }
        }
    }

    /// <summary>Waits until the server closes the stream.</summary>
    public async Task WaitForEndAsync(TimeSpan timeout)
    {
        if (_reader is not null)
        {
            await _reader.WaitAsync(timeout).ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            await using var stream = await Response.Content.ReadAsStreamAsync(_stop.Token).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? eventType = null, id = null;
            int? retry = null;
            StringBuilder? data = null;
            var comments = new List<string>();
            var block = new StringBuilder();
            while (await reader.ReadLineAsync(_stop.Token).ConfigureAwait(false) is { } line)
            {
                lock (_raw)
                {
                    _raw.Append(line).Append('\n');
                }

                if (line.Length == 0)
                {
                    if (data is not null || eventType is not null || id is not null || retry is not null || comments.Count > 0)
                    {
                        var text = data?.ToString();
                        if (text is not null && text.EndsWith('\n'))
                        {
                            text = text[..^1];
                        }

                        _frames.Writer.TryWrite(new SseFrame(eventType, text, id, retry, comments.ToArray(), block.ToString()));
                    }

                    eventType = null;
                    id = null;
                    retry = null;
                    data = null;
                    comments.Clear();
                    block.Clear();
                    continue;
                }

                block.Append(line).Append('\n');
                if (line[0] == ':')
                {
                    comments.Add(line[1..]);
                    continue;
                }

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var field = colon < 0 ? line : line[..colon];
                var value = colon < 0 ? string.Empty : line[(colon + 1)..];
                if (value.StartsWith(' '))
                {
                    value = value[1..];
                }

                switch (field)
                {
                    case "event":
                        eventType = value;
                        break;
                    case "data":
                        (data ??= new StringBuilder()).Append(value).Append('\n');
                        break;
                    case "id" when !value.Contains('\0', StringComparison.Ordinal):
                        id = value;
                        break;
                    case "retry" when int.TryParse(value, out var r):
                        retry = r;
                        break;
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
        }
        catch (HttpRequestException)
        {
        }
        finally
        {
            Ended = true;
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Response.Dispose();
        if (_reader is not null)
        {
            await Task.WhenAny(_reader, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        }

        if (_ownsClient)
        {
            _client.Dispose();
        }

        _stop.Dispose();
    }
}
