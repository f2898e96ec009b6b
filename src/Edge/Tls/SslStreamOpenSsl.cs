using System.Linq.Expressions;
using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;

namespace Edge.Tls;

/// <summary>
/// The OpenSSL mode of the <c>SSL</c> behind an authenticated <see cref="SslStream"/> on Linux.
/// .NET has no public way to that <c>SSL*</c>: it is the handle of the stream's private field
/// <c>_securityContext</c> (declared <c>System.Net.Security.SafeDeleteSslContext</c>; on Linux a
/// <c>Microsoft.Win32.SafeHandles.SafeSslHandle</c>, which .NET creates from <c>SSL_new</c>; dotnet/runtime
/// <c>System.Net.Security</c>). That shape is checked once, when bound, and the handle's type again
/// for each stream, so a runtime built otherwise is refused instead of handing OpenSSL a wrong pointer.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class SslStreamOpenSsl
{
    private const string FieldName = "_securityContext";
    private const string HandleTypeName = "Microsoft.Win32.SafeHandles.SafeSslHandle";

    private static readonly Lazy<(SslStreamOpenSsl? Binding, string Failure)> Process = new(() => (TryBind(out var failure), failure));

    private readonly Func<SslStream, SafeHandle?> _securityContext;
    private readonly Type _handleType;
    private readonly LibSsl _libSsl;

    private SslStreamOpenSsl(Func<SslStream, SafeHandle?> securityContext, Type handleType, LibSsl libSsl)
    {
        _securityContext = securityContext;
        _handleType = handleType;
        _libSsl = libSsl;
    }

    /// <summary>The process's binding, made at the first call; null with the reason when this runtime cannot be bound.</summary>
    public static (SslStreamOpenSsl? Binding, string Failure) Shared => Process.Value;

    public LibSsl LibSsl => _libSsl;

    /// <summary>ORs <paramref name="mode"/> into the stream's SSL mode; returns the mode after, or null when the stream has no OpenSSL handle (not authenticated, or disposed).</summary>
    public long? AddMode(SslStream stream, long mode) => Ctrl(stream, LibSsl.CtrlMode, mode);

    /// <summary>The stream's SSL mode (<c>SSL_get_mode</c>), or null as for <see cref="AddMode"/>.</summary>
    public long? GetMode(SslStream stream) => Ctrl(stream, LibSsl.CtrlMode, 0);

    private long? Ctrl(SslStream stream, int cmd, long larg)
    {
        var handle = _securityContext(stream);
        if (handle is null || handle.GetType() != _handleType || handle.IsInvalid || handle.IsClosed)
        {
            return null;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return _libSsl.Ctrl(handle.DangerousGetHandle(), cmd, larg);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static SslStreamOpenSsl? TryBind(out string failure)
    {
        var field = typeof(SslStream).GetField(FieldName, BindingFlags.Instance | BindingFlags.NonPublic);
        var handleType = typeof(SslStream).Assembly.GetType(HandleTypeName, throwOnError: false);
        if (field is null || handleType is null || !typeof(SafeHandle).IsAssignableFrom(field.FieldType) || !field.FieldType.IsAssignableFrom(handleType))
        {
            failure = $"this runtime's SslStream ({typeof(SslStream).Assembly.GetName().Version}) has no {FieldName} holding a {HandleTypeName}";
            return null;
        }

        var stream = Expression.Parameter(typeof(SslStream), "stream");
        var securityContext = Expression.Lambda<Func<SslStream, SafeHandle?>>(Expression.Convert(Expression.Field(stream, field), typeof(SafeHandle)), stream).Compile();

        // Makes sure the runtime's OpenSSL shim, which opens libssl, is loaded.
        _ = SafeEvpPKeyHandle.OpenSslVersion;
        var libSsl = LibSsl.TryBind(out failure);
        return libSsl is null ? null : new SslStreamOpenSsl(securityContext, handleType, libSsl);
    }
}
