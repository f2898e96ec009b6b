using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Edge.Tls;

/// <summary>
/// <c>SSL_ctrl</c> of the libssl the .NET runtime loaded, bound without ever loading a second one.
/// The runtime's OpenSSL shim (dotnet/runtime <c>opensslshim.c</c>) opens libssl by soname:
/// <c>libssl.so.{DOTNET_OPENSSL_VERSION_OVERRIDE}</c> when set, then <c>libssl.so.3</c>,
/// <c>.1.1</c>, <c>.1.0.2</c>, <c>.1.0.0</c>, <c>.10</c>. Here the one libssl mapped into the
/// process is found in <c>/proc/self/maps</c>, opened again by the first of those sonames it
/// answers to (the dynamic loader hands back the copy already loaded), and <c>SSL_ctrl</c> is
/// accepted only if its address lies inside that mapping.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe class LibSsl
{
    /// <summary><c>SSL_CTRL_MODE</c>: ORs <c>larg</c> into the connection's mode and returns the mode.</summary>
    public const int CtrlMode = 33;

    /// <summary><c>SSL_MODE_RELEASE_BUFFERS</c>.</summary>
    public const long ModeReleaseBuffers = 0x10;

    private const string Prefix = "libssl.so";

    // long SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg); C's long is pointer-sized on Linux.
    private readonly delegate* unmanaged<nint, int, nint, nint, nint> _sslCtrl;

    private LibSsl(string path, string soname, nint sslCtrl)
    {
        Path = path;
        Soname = soname;
        _sslCtrl = (delegate* unmanaged<nint, int, nint, nint, nint>)sslCtrl;
    }

    /// <summary>The file the process maps.</summary>
    public string Path { get; }

    /// <summary>The name it was opened by.</summary>
    public string Soname { get; }

    /// <summary>
    /// Binds to the libssl already in the process. The runtime's shim must have been loaded before
    /// (any OpenSSL use does that). Null with the reason when there is no single libssl to bind to.
    /// </summary>
    public static LibSsl? TryBind(out string failure)
    {
        var mapped = MappedLibSsl(out var ranges);
        if (mapped.Count != 1)
        {
            failure = mapped.Count == 0
                ? "no libssl is mapped into the process"
                : $"more than one libssl is mapped into the process ({string.Join(", ", mapped)}), so which one .NET uses is unknown";
            return null;
        }

        var path = mapped[0];
        var fileName = System.IO.Path.GetFileName(path);
        var soname = Sonames().FirstOrDefault(s => fileName == s || fileName.StartsWith(s + ".", StringComparison.Ordinal));
        if (soname is null)
        {
            failure = $"the mapped {path} answers to none of the sonames .NET opens libssl by";
            return null;
        }

        if (!NativeLibrary.TryLoad(soname, out var library))
        {
            failure = $"{soname} could not be opened";
            return null;
        }

        if (!NativeLibrary.TryGetExport(library, "SSL_ctrl", out var sslCtrl))
        {
            NativeLibrary.Free(library);
            failure = $"{soname} has no SSL_ctrl";
            return null;
        }

        if (!ranges.Any(r => (ulong)sslCtrl >= r.Start && (ulong)sslCtrl < r.End))
        {
            NativeLibrary.Free(library);
            failure = $"SSL_ctrl of {soname} is not inside the mapped {path}";
            return null;
        }

        failure = "";
        return new LibSsl(path, soname, sslCtrl);
    }

    /// <summary><c>SSL_ctrl(ssl, cmd, larg, NULL)</c>. The caller keeps <paramref name="ssl"/> alive.</summary>
    public long Ctrl(nint ssl, int cmd, long larg) => _sslCtrl(ssl, cmd, (nint)larg, 0);

    private static List<string> Sonames()
    {
        var sonames = new List<string>();
        foreach (var variable in (ReadOnlySpan<string>)["DOTNET_OPENSSL_VERSION_OVERRIDE", "CLR_OPENSSL_VERSION_OVERRIDE"])
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } version)
            {
                sonames.Add($"{Prefix}.{version}");
            }
        }

        foreach (var version in (ReadOnlySpan<string>)["3", "1.1", "1.0.2", "1.0.0", "10"])
        {
            sonames.Add($"{Prefix}.{version}");
        }

        return sonames;
    }

    /// <summary>The distinct files named <c>libssl.so*</c> in <c>/proc/self/maps</c>, and every range mapped from them.</summary>
    private static List<string> MappedLibSsl(out List<(ulong Start, ulong End)> ranges)
    {
        var paths = new List<string>();
        ranges = [];
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // start-end perms offset dev inode path
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6)
            {
                continue;
            }

            var path = fields[5].Trim();
            if (path.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                path = path[..^" (deleted)".Length];
            }

            if (!System.IO.Path.GetFileName(path).StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            if (!paths.Contains(path))
            {
                paths.Add(path);
            }

            var bounds = fields[0].Split('-');
            ranges.Add((ulong.Parse(bounds[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), ulong.Parse(bounds[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }

        return paths;
    }
}
