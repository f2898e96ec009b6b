using System.Text;

namespace Edge.Transports.Sockets.Tests.Differential;

/// <summary>
/// Reads an SSE body as the WHATWG event-stream grammar defines it, fed in arbitrary pieces: lines
/// end with CRLF, LF or CR; a line starting with a colon is a comment; a field's value loses one
/// leading space; a blank line ends a frame. Each frame is kept as its normalized lines
/// (<c>:comment</c>, <c>retry: 5000</c>, <c>id: ...</c>, <c>event: ...</c>, <c>data: ...</c>),
/// so two bodies compare equal exactly when a client sees the same comments, retries, ids, event
/// types and data, however the bytes were split into TCP segments or chunks.
/// </summary>
internal sealed class SseFrameReader
{
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private readonly StringBuilder _line = new();
    private readonly List<string> _frame = [];
    private readonly List<string> _frames = [];
    private bool _afterCr;
    private bool _first = true;

    /// <summary>The frames completed so far, each its lines joined with <c>\n</c>.</summary>
    public IReadOnlyList<string> Frames => _frames;

    /// <summary>Text of a frame begun but not ended by a blank line yet.</summary>
    public string Unfinished => string.Join('\n', _frame) + (_line.Length > 0 ? "\n" + _line : string.Empty);

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[_decoder.GetCharCount(bytes, flush: false)];
        var count = _decoder.GetChars(bytes, chars, flush: false);
        foreach (var c in chars.AsSpan(0, count))
        {
            if (_first)
            {
                _first = false;
                if (c == '\uFEFF')
                {
                    continue;
                }
            }

            if (c == '\n' && _afterCr)
            {
                _afterCr = false;
                continue;
            }

            _afterCr = c == '\r';
            if (c is '\r' or '\n')
            {
                EndLine();
            }
            else
            {
                _line.Append(c);
            }
        }
    }

    /// <summary>Whether a completed frame has a <c>data</c> line equal to <paramref name="data"/>.</summary>
    public bool HasData(string data) => _frames.Any(f => f.Split('\n').Contains("data: " + data, StringComparer.Ordinal));

    private void EndLine()
    {
        var line = _line.ToString();
        _line.Clear();
        if (line.Length == 0)
        {
            if (_frame.Count > 0)
            {
                _frames.Add(string.Join('\n', _frame));
                _frame.Clear();
            }

            return;
        }

        if (line[0] == ':')
        {
            _frame.Add(line);
            return;
        }

        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? string.Empty : line[(colon + 1)..];
        if (value.StartsWith(' '))
        {
            value = value[1..];
        }

        _frame.Add(name + ": " + value);
    }
}
