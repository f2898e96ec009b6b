using System.Runtime.InteropServices;

namespace Edge.Transports.Sockets;

/// <summary>The few Linux calls the direct streams' departure watcher uses; sockets are otherwise read and written through <see cref="System.Net.Sockets.Socket"/>.</summary>
internal static unsafe partial class Epoll
{
    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint RdHup = 0x2000;
    public const uint EdgeTriggered = 1u << 31;

    private const int CtlAdd = 1;
    private const int CtlDel = 2;
    private const int CloExec = 0x80000;
    private const int Interrupted = 4;
    private const int EventFdNonBlock = 0x800;

    /// <summary>Whether this process can use epoll through these calls: Linux on x64, whose epoll_event is packed (12 bytes).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    public static int Create()
    {
        var fd = epoll_create1(CloExec);
        if (fd < 0)
        {
            throw new InvalidOperationException($"epoll_create1 failed (errno {Marshal.GetLastPInvokeError()}).");
        }

        return fd;
    }

    public static bool Add(int epoll, int fd, uint events, nint data)
    {
        var e = new Event { Events = events, Data = data };
        return epoll_ctl(epoll, CtlAdd, fd, &e) == 0;
    }

    public static void Remove(int epoll, int fd)
    {
        var e = default(Event);
        _ = epoll_ctl(epoll, CtlDel, fd, &e);
    }

    /// <summary>Waits for events; returns how many were written, 0 on a timeout or an interrupted wait.</summary>
    public static int Wait(int epoll, Event* events, int max, int timeoutMilliseconds)
    {
        var n = epoll_wait(epoll, events, max, timeoutMilliseconds);
        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == Interrupted ? 0 : throw new InvalidOperationException($"epoll_wait failed (errno {errno}).");
        }

        return n;
    }

    public static void Close(int fd) => _ = close(fd);

    /// <summary>An eventfd (non-blocking) another thread can <see cref="Signal"/> to wake a wait.</summary>
    public static int CreateWakeUp()
    {
        var fd = eventfd(0, EventFdNonBlock | CloExec);
        if (fd < 0)
        {
            throw new InvalidOperationException($"eventfd failed (errno {Marshal.GetLastPInvokeError()}).");
        }

        return fd;
    }

    public static void Signal(int wakeUp)
    {
        var one = 1UL;
        _ = write(wakeUp, &one, sizeof(ulong));
    }

    public static void Drain(int wakeUp)
    {
        ulong value;
        _ = read(wakeUp, &value, sizeof(ulong));
    }

    [StructLayout(LayoutKind.Explicit, Size = 12)]
    public struct Event
    {
        [FieldOffset(0)]
        public uint Events;

        [FieldOffset(4)]
        public nint Data;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, Event* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(int epfd, Event* events, int maxevents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, void* buffer, nuint count);
}
