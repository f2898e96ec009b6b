using System.Buffers;
using System.Text;
using Edge.Configuration;
using Edge.Streams;
using Edge.Transports.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http;
using Microsoft.Extensions.Options;
using KestrelMethod = Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpMethod;
using KestrelVersion = Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpVersion;

namespace Edge.Transports.Sockets.Tests.Heads;

/// <summary>The heads in HeadCorpus/*.txt (embedded byte for byte) and a seeded generator of mutations of them.</summary>
internal static class HeadCorpus
{
    private static readonly Lazy<IReadOnlyList<(string Name, byte[] Bytes)>> Entries = new(() =>
    {
        var assembly = typeof(HeadCorpus).Assembly;
        var list = new List<(string, byte[])>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("HeadCorpus/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            list.Add((resource["HeadCorpus/".Length..^".txt".Length], copy.ToArray()));
        }

        return list;
    });

    public static IReadOnlyList<(string Name, byte[] Bytes)> All => Entries.Value;

    /// <summary>The streams the fuzzed heads are matched against: a plain path and a templated one, as configured in the edge.</summary>
    public static StreamCatalog Catalog { get; } = new(Options.Create(new EdgeOptions
    {
        Streams =
        {
            ["events"] = new StreamOptions { Path = "/events" },
            ["rooms"] = new StreamOptions { Path = "/rooms/{room}" },
        },
    }));

    /// <summary>Shows bytes as a C# string literal would, so a failing input can be pasted into a test.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes, int max = 400)
    {
        var text = new StringBuilder("\"");
        foreach (var b in bytes[..Math.Min(bytes.Length, max)])
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\t' => "\\t",
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                < 0x20 or >= 0x7F => $"\\u{b:x4}",
                _ => ((char)b).ToString(),
            });
        }

        return text.Append(bytes.Length > max ? $"\"... ({bytes.Length} bytes)" : "\"").ToString();
    }
}

/// <summary>
/// Mutates corpus heads: bit flips, byte insertion, deletion and duplication, injection of the
/// bytes that matter to HTTP framing, truncation, line-ending changes, header lines moved between
/// heads, and two heads concatenated. Deterministic for a seed.
/// </summary>
internal sealed class HeadMutator(int seed)
{
    private static readonly byte[] Special = "\r\n\0 :%\t/?#.,;=\"@[]\x7f"u8.ToArray().Append((byte)0xFF).Append((byte)0x80).Append((byte)0xE9).ToArray();

    private static readonly string[] Lines =
    [
        "Host: edge", "Host: a:b:c", "Host: ", "Host:edge", "host: EDGE", "Content-Length: 0", "Content-Length: 1", "Content-Length: 00",
        "Transfer-Encoding: chunked", "Transfer-Encoding: identity", "Connection: close", "Connection: Upgrade", "Upgrade: websocket",
        "Expect: 100-continue", "Origin: https://app.example.com", "Origin: null", "Last-Event-ID: e-1", "Cookie: a=b", "Authorization: Bearer x",
        "X-Empty:", ": no-name", "NoColon", "X-Fold: a\r\n b", " leading-space: x", "X\tTab: y", "X-Forwarded-For: 10.0.0.1",
    ];

    private readonly Random _random = new(seed);

    public Random Random => _random;

    public byte[] Next(IReadOnlyList<(string Name, byte[] Bytes)> corpus)
    {
        var data = new List<byte>(corpus[_random.Next(corpus.Count)].Bytes);
        var rounds = _random.Next(10) == 0 ? 0 : _random.Next(1, 5);
        for (var round = 0; round < rounds; round++)
        {
            Mutate(data, corpus);
        }

        return [.. data];
    }

    private void Mutate(List<byte> data, IReadOnlyList<(string Name, byte[] Bytes)> corpus)
    {
        var at = data.Count == 0 ? 0 : _random.Next(data.Count + 1);
        switch (_random.Next(14))
        {
            case 0 when data.Count > 0:
                data[Math.Min(at, data.Count - 1)] ^= (byte)(1 << _random.Next(8));
                break;
            case 1:
                data.Insert(at, (byte)_random.Next(256));
                break;
            case 2:
            case 3:
                data.Insert(at, Special[_random.Next(Special.Length)]);
                break;
            case 4 when data.Count > 0:
                var index = Math.Min(at, data.Count - 1);
                data.RemoveRange(index, Math.Min(_random.Next(1, 5), data.Count - index));
                break;
            case 5 when data.Count > 0:
                var from = _random.Next(data.Count);
                var piece = data.GetRange(from, Math.Min(_random.Next(1, 65), data.Count - from));
                data.InsertRange(at, piece);
                break;
            case 6:
                data.RemoveRange(at, data.Count - at);
                break;
            case 7:
                var other = corpus[_random.Next(corpus.Count)].Bytes;
                if (_random.Next(2) == 0)
                {
                    data.AddRange(other);
                }
                else
                {
                    data.InsertRange(0, other);
                }

                break;
            case 8:
                ReplaceLineEnding(data);
                break;
            case 9:
                InsertLine(data, Encoding.Latin1.GetBytes(Lines[_random.Next(Lines.Length)] + "\r\n"));
                break;
            case 10:
                InsertLine(data, LineOf(corpus[_random.Next(corpus.Count)].Bytes));
                break;
            case 11 when data.Count > 0:
                data[Math.Min(at, data.Count - 1)] = Special[_random.Next(Special.Length)];
                break;
            case 12 when data.Count > 0:
                var letter = Math.Min(at, data.Count - 1);
                if (data[letter] is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z')
                {
                    data[letter] ^= 0x20;
                }

                break;
            case 13:
                // A very long value: the head near or past the reader's size limit.
                var length = _random.Next(2) == 0 ? _random.Next(RequestHead.MaxHeadBytes - 200, RequestHead.MaxHeadBytes + 200) : _random.Next(100, 9000);
                InsertLine(data, Encoding.ASCII.GetBytes("X-Pad: " + new string('p', Math.Max(0, length - data.Count)) + "\r\n"));
                break;
        }
    }

    /// <summary>One CRLF (or LF) of the head made LF, CR, CRCRLF, LFCR or removed.</summary>
    private void ReplaceLineEnding(List<byte> data)
    {
        var ends = Enumerable.Range(0, data.Count).Where(i => data[i] == (byte)'\n').ToList();
        if (ends.Count == 0)
        {
            return;
        }

        var lf = ends[_random.Next(ends.Count)];
        var start = lf > 0 && data[lf - 1] == (byte)'\r' ? lf - 1 : lf;
        data.RemoveRange(start, lf - start + 1);
        byte[][] replacements = [[(byte)'\n'], [(byte)'\r'], [(byte)'\r', (byte)'\r', (byte)'\n'], [(byte)'\n', (byte)'\r'], [], [(byte)'\r', (byte)'\n', (byte)' ']];
        data.InsertRange(start, replacements[_random.Next(replacements.Length)]);
    }

    /// <summary>Inserts a whole header line after a random line break of the head.</summary>
    private void InsertLine(List<byte> data, byte[] line)
    {
        var breaks = Enumerable.Range(0, data.Count).Where(i => data[i] == (byte)'\n').ToList();
        var at = breaks.Count == 0 ? data.Count : breaks[_random.Next(breaks.Count)] + 1;
        data.InsertRange(at, line);
    }

    /// <summary>A random header line (with its line break) of another head.</summary>
    private byte[] LineOf(byte[] head)
    {
        var text = Encoding.Latin1.GetString(head);
        var lines = text.Split("\r\n");
        return lines.Length < 3 ? [] : Encoding.Latin1.GetBytes(lines[_random.Next(1, lines.Length - 2)] + "\r\n");
    }
}

/// <summary>What Kestrel's own HTTP/1.1 parser makes of a head: the oracle for every head the direct path takes.</summary>
internal sealed class KestrelHeadOracle : IHttpRequestLineHandler, IHttpHeadersHandler
{
    private static readonly HttpParser<KestrelHeadOracle> Parser = new(showErrorDetails: true);

    private KestrelHeadOracle()
    {
    }

    public KestrelMethod Method { get; private set; }

    public KestrelVersion Version { get; private set; }

    public string Target { get; private set; } = string.Empty;

    public List<(string Name, string Value)> Headers { get; } = [];

    public bool HeadersComplete { get; private set; }

    /// <summary>Parses <paramref name="head"/>; the error is null when Kestrel's parser accepts it whole (request line and headers, every byte used).</summary>
    public static (KestrelHeadOracle Parsed, string? Error) Parse(ReadOnlySequence<byte> head)
    {
        var handler = new KestrelHeadOracle();
        var reader = new SequenceReader<byte>(head);
        try
        {
            if (!Parser.ParseRequestLine(handler, ref reader))
            {
                return (handler, "Kestrel needs more bytes for the request line");
            }

            if (!Parser.ParseHeaders(handler, ref reader) || !handler.HeadersComplete)
            {
                return (handler, "Kestrel needs more bytes for the headers");
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
        {
            return (handler, $"Kestrel rejects it: {ex.Message}");
        }

        return reader.Consumed != head.Length ? (handler, $"Kestrel's head ends at {reader.Consumed} of {head.Length} bytes") : (handler, null);
    }

    public void OnStartLine(HttpVersionAndMethod versionAndMethod, TargetOffsetPathLength targetPath, Span<byte> startLine)
    {
        Method = versionAndMethod.Method;
        Version = versionAndMethod.Version;
        Target = Encoding.Latin1.GetString(startLine[targetPath.Offset..]);
    }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Headers.Add((Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value)));

    public void OnHeadersComplete(bool endStream) => HeadersComplete = true;

    public void OnStaticIndexedHeader(int index)
    {
    }

    public void OnStaticIndexedHeader(int index, ReadOnlySpan<byte> value)
    {
    }
}
