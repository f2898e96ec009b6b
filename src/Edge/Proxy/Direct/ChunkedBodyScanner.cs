using Edge.Http;

namespace Edge.Proxy.Direct;

/// <summary>What <see cref="ChunkedBodyScanner.Advance"/> found in the bytes it was given.</summary>
internal enum ChunkScanResult
{
    /// <summary>All the bytes belong to the body and its end is still to come.</summary>
    NeedMore,

    /// <summary>The body ended within the bytes given.</summary>
    Complete,

    /// <summary>The framing is malformed: answer or cut the client off and close the upstream connection.</summary>
    Invalid,
}

/// <summary>
/// Finds the end of a chunked body (RFC 9112 §7.1) without decoding it, so the body can be forwarded verbatim
/// and the upstream connection reused right after it. Strict: chunk sizes of 1-16 hex digits up to 2^62,
/// extensions skipped (size line up to 4096 bytes), CRLF exactly after each chunk's data, trailer field lines
/// that look like header lines (trailer section up to 32 KB), no bare LF or CR. Keeps its state in its fields,
/// so bytes may arrive split anywhere; it is a mutable struct: keep it in a field and never copy it mid-body.
/// </summary>
internal struct ChunkedBodyScanner
{
    /// <summary>The longest chunk size line, extensions and CRLF included.</summary>
    public const int MaxSizeLineBytes = 4096;

    /// <summary>The longest trailer section, from after the last chunk's size line to the final CRLF included.</summary>
    public const int MaxTrailerBytes = 32 * 1024;

    /// <summary>The largest chunk size accepted.</summary>
    public const long MaxChunkSize = 1L << 62;

    private const int MaxSizeDigits = 16;

    private State _state;
    // The chunk size while its line is read, then the chunk's data bytes still to come.
    private long _size;
    private int _digits;
    private int _lineBytes;
    private int _trailerBytes;

    private enum State : byte
    {
        SizeDigits,
        SizeWhitespace,
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerLineStart,
        TrailerName,
        TrailerValue,
        TrailerLf,
        FinalLf,
        Done,
        Failed,
    }

    /// <summary>When the framing is invalid: a short precise reason for the log.</summary>
    public string? Error { get; private set; }

    /// <summary>
    /// Feeds body bytes, starting right after the head and continuing across calls.
    /// Returns <see cref="ChunkScanResult.Complete"/> with <paramref name="consumed"/> the bytes of <paramref name="data"/>
    /// up to and including the end of the body (last chunk, trailer section and final CRLF); any bytes after that belong to
    /// the next response. Returns <see cref="ChunkScanResult.NeedMore"/> with <paramref name="consumed"/> = <c>data.Length</c>.
    /// Returns <see cref="ChunkScanResult.Invalid"/> with <see cref="Error"/> set and <paramref name="consumed"/> the bytes
    /// before the offending one. Once complete or invalid, every further call returns the same result and consumes nothing.
    /// </summary>
    public ChunkScanResult Advance(ReadOnlySpan<byte> data, out int consumed)
    {
        consumed = 0;
        switch (_state)
        {
            case State.Done:
                return ChunkScanResult.Complete;
            case State.Failed:
                return ChunkScanResult.Invalid;
        }

        var i = 0;
        while (i < data.Length)
        {
            if (_state == State.Data)
            {
                var take = (int)Math.Min(_size, data.Length - i);
                i += take;
                _size -= take;
                if (_size == 0)
                {
                    _state = State.DataCr;
                }

                continue;
            }

            var b = data[i];
            var error = _state switch
            {
                State.SizeDigits or State.SizeWhitespace or State.Extension or State.SizeLf => SizeLine(b),
                State.DataCr => b == (byte)'\r' ? Next(State.DataLf) : Errors.DataNotFollowedByCrlf,
                State.DataLf => b == (byte)'\n' ? StartSizeLine() : Errors.DataNotFollowedByCrlf,
                _ => Trailer(b),
            };
            if (error is not null)
            {
                consumed = i;
                Error = error;
                _state = State.Failed;
                return ChunkScanResult.Invalid;
            }

            i++;
            if (_state == State.Done)
            {
                consumed = i;
                return ChunkScanResult.Complete;
            }
        }

        consumed = data.Length;
        return ChunkScanResult.NeedMore;
    }

    private string? Next(State state)
    {
        _state = state;
        return null;
    }

    private string? StartSizeLine()
    {
        _size = 0;
        _digits = 0;
        _lineBytes = 0;
        return Next(State.SizeDigits);
    }

    private string? SizeLine(byte b)
    {
        if (++_lineBytes > MaxSizeLineBytes)
        {
            return Errors.SizeLineTooLong;
        }

        switch (_state)
        {
            case State.SizeDigits:
                if (HexValue(b) is var digit and >= 0)
                {
                    if (++_digits > MaxSizeDigits)
                    {
                        return Errors.SizeTooManyDigits;
                    }

                    // Up to 2^58, _size * 16 + 15 fits in a long; beyond, the size exceeds 2^62 anyway.
                    if (_size > MaxChunkSize >> 4)
                    {
                        return Errors.SizeTooLarge;
                    }

                    _size = (_size << 4) | (long)digit;
                    return _size > MaxChunkSize ? Errors.SizeTooLarge : null;
                }

                if (_digits == 0)
                {
                    return b switch
                    {
                        (byte)'\n' => Errors.BareLf,
                        (byte)'\r' or (byte)';' or (byte)' ' or (byte)'\t' => Errors.SizeMissing,
                        _ => Errors.SizeNotHex,
                    };
                }

                return b switch
                {
                    (byte)'\r' => Next(State.SizeLf),
                    (byte)';' => Next(State.Extension),
                    (byte)' ' or (byte)'\t' => Next(State.SizeWhitespace),
                    (byte)'\n' => Errors.BareLf,
                    _ => Errors.SizeNotHex,
                };
            case State.SizeWhitespace:
                // BWS is allowed only before a chunk extension's ";".
                return b switch
                {
                    (byte)' ' or (byte)'\t' => null,
                    (byte)';' => Next(State.Extension),
                    _ => Errors.SpaceAfterSize,
                };
            case State.Extension:
                return b switch
                {
                    (byte)'\r' => Next(State.SizeLf),
                    (byte)'\n' => Errors.BareLf,
                    _ => HttpSyntax.IsTextByte(b) ? null : Errors.ControlInExtension,
                };
            default:
                if (b != (byte)'\n')
                {
                    return Errors.BareCr;
                }

                if (_size == 0)
                {
                    _trailerBytes = 0;
                    return Next(State.TrailerLineStart);
                }

                return Next(State.Data);
        }
    }

    private string? Trailer(byte b)
    {
        if (++_trailerBytes > MaxTrailerBytes)
        {
            return Errors.TrailerTooLong;
        }

        switch (_state)
        {
            case State.TrailerLineStart:
                return b switch
                {
                    (byte)'\r' => Next(State.FinalLf),
                    (byte)'\n' => Errors.BareLf,
                    (byte)' ' or (byte)'\t' => Errors.TrailerObsFold,
                    (byte)':' => Errors.TrailerEmptyName,
                    _ => HttpSyntax.IsTokenByte(b) ? Next(State.TrailerName) : Errors.TrailerNameNotToken,
                };
            case State.TrailerName:
                return b switch
                {
                    (byte)':' => Next(State.TrailerValue),
                    (byte)' ' or (byte)'\t' => Errors.TrailerSpaceInName,
                    (byte)'\r' or (byte)'\n' => Errors.TrailerNoColon,
                    _ => HttpSyntax.IsTokenByte(b) ? null : Errors.TrailerNameNotToken,
                };
            case State.TrailerValue:
                return b switch
                {
                    (byte)'\r' => Next(State.TrailerLf),
                    (byte)'\n' => Errors.BareLf,
                    _ => HttpSyntax.IsTextByte(b) ? null : Errors.ControlInTrailer,
                };
            case State.TrailerLf:
                return b == (byte)'\n' ? Next(State.TrailerLineStart) : Errors.BareCr;
            default:
                return b == (byte)'\n' ? Next(State.Done) : Errors.BareCr;
        }
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>The reasons a chunked body is refused; constants, so refusing allocates nothing.</summary>
    internal static class Errors
    {
        public const string BareLf = "bare LF in the chunked framing";
        public const string BareCr = "CR not followed by LF in the chunked framing";
        public const string SizeMissing = "chunk size missing";
        public const string SizeNotHex = "chunk size is not hexadecimal";
        public const string SizeTooManyDigits = "chunk size longer than 16 hex digits";
        public const string SizeTooLarge = "chunk size larger than 2^62";
        public const string SpaceAfterSize = "whitespace after the chunk size not followed by an extension";
        public const string SizeLineTooLong = "chunk size line longer than 4096 bytes";
        public const string ControlInExtension = "control character in a chunk extension";
        public const string DataNotFollowedByCrlf = "chunk data not followed by CRLF";
        public const string TrailerTooLong = "trailer section longer than 32768 bytes";
        public const string TrailerObsFold = "obs-fold in the trailer section";
        public const string TrailerEmptyName = "empty trailer field name";
        public const string TrailerNameNotToken = "trailer field name is not a token";
        public const string TrailerSpaceInName = "whitespace in a trailer field name or before its colon";
        public const string TrailerNoColon = "trailer line without a colon";
        public const string ControlInTrailer = "control character in a trailer value";
    }
}
