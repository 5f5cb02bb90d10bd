// Design: what submit needs to know about a handle — its open mode (the kernel checks f_mode
// for FMODE_READ/FMODE_WRITE at submit) and its device (for the deferred work queue) — costs a
// system call to learn. A small per-context cache keyed by the SafeHandle object itself keeps
// that off the steady-state path: a SafeHandle's descriptor cannot change while it is open,
// and a closed one is refused before the cache is consulted. Entries are immutable and swapped
// whole, so readers need no lock; a miss allocates one entry.
using System.Runtime.InteropServices;

namespace Kaio.Core;

internal sealed class HandleInfo
{
    internal HandleInfo(SafeHandle handle, int fd, int openFlags)
    {
        Handle = handle;
        Fd = fd;
        OpenFlags = openFlags;
    }

    internal SafeHandle Handle { get; }

    internal int Fd { get; }

    /// <summary>fcntl(F_GETFL): access mode and status flags.</summary>
    internal int OpenFlags { get; }

    internal bool CanRead => (OpenFlags & Interop.O_ACCMODE) != Interop.O_WRONLY;

    internal bool CanWrite => (OpenFlags & Interop.O_ACCMODE) != Interop.O_RDONLY;

    /// <summary>The device (st_dev as major &lt;&lt; 32 | minor), learned on first need; ulong.MaxValue until then.</summary>
    internal ulong Device = ulong.MaxValue;
}

internal sealed class HandleInfoCache
{
    private const int Entries = 8;
    private readonly HandleInfo?[] _entries = new HandleInfo?[Entries];
    private int _next; // round-robin victim; races only pick a different victim

    /// <summary>
    /// Info for an open handle the caller has referenced (DangerousAddRef), or a negative errno
    /// (EBADF when the descriptor is not open).
    /// </summary>
    internal unsafe int Get(SafeHandle handle, int fd, out HandleInfo? info)
    {
        for (int i = 0; i < Entries; i++)
        {
            HandleInfo? e = Volatile.Read(ref _entries[i]);
            if (e is not null && ReferenceEquals(e.Handle, handle) && e.Fd == fd)
            {
                info = e;
                return 0;
            }
        }

        int flags = Interop.fcntl(fd, Interop.F_GETFL);
        if (flags < 0)
        {
            info = null;
            return Interop.LastRes();
        }

        info = new HandleInfo(handle, fd, flags);
        int victim = (int)((uint)Interlocked.Increment(ref _next) % Entries);
        Volatile.Write(ref _entries[victim], info);
        return 0;
    }

    /// <summary>The device of the handle, by statx on its descriptor; cached in the entry.</summary>
    internal static unsafe int GetDevice(HandleInfo info, out ulong device)
    {
        device = Volatile.Read(ref info.Device);
        if (device != ulong.MaxValue)
        {
            return 0;
        }

        Interop.statx_t st;
        int rc = Interop.statx(info.Fd, string.Empty, Interop.AT_EMPTY_PATH, Interop.STATX_BASIC_STATS, &st);
        if (rc < 0)
        {
            return Interop.LastRes();
        }

        device = ((ulong)st.stx_dev_major << 32) | st.stx_dev_minor;
        Volatile.Write(ref info.Device, device);
        return 0;
    }
}
