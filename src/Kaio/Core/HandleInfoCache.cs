// Design: what submit needs to know about a handle — its open mode (the kernel checks f_mode
// for FMODE_READ/FMODE_WRITE at submit), what kind of file it is (a stream — pipe, FIFO, socket,
// character device — has no position the offset applies to and may wait for a peer forever;
// an eventfd is the only file IOCB_FLAG_RESFD accepts) and its device (for the deferred work
// queue) — costs system calls to learn. A small per-context cache keyed by the SafeHandle object
// itself keeps that off the steady-state path: a SafeHandle's descriptor cannot change while it
// is open, and a closed one is refused before the cache is consulted. Entries are immutable once
// published (IsEventFd is learned lazily, idempotently) and swapped whole, so readers need no
// lock; a miss costs fcntl(F_GETFL) + statx and allocates one entry.
using System.Runtime.InteropServices;

namespace Kaio.Core;

internal sealed class HandleInfo
{
    internal HandleInfo(SafeHandle handle, int fd, int openFlags, int fileType, ulong device)
    {
        Handle = handle;
        Fd = fd;
        OpenFlags = openFlags;
        FileType = fileType;
        Device = device;
    }

    internal SafeHandle Handle { get; }

    internal int Fd { get; }

    /// <summary>fcntl(F_GETFL): access mode and status flags.</summary>
    internal int OpenFlags { get; }

    /// <summary>statx stx_mode &amp; S_IFMT: the file's type.</summary>
    internal int FileType { get; }

    /// <summary>The device (st_dev as major &lt;&lt; 32 | minor).</summary>
    internal ulong Device { get; }

    internal bool CanRead => (OpenFlags & Interop.O_ACCMODE) != Interop.O_WRONLY;

    internal bool CanWrite => (OpenFlags & Interop.O_ACCMODE) != Interop.O_RDONLY;

    /// <summary>
    /// A pipe, FIFO, socket or character device: the offset of a read or write means nothing
    /// (FMODE_STREAM, or a device that ignores it), and the call may wait for a peer without bound.
    /// </summary>
    internal bool IsStream => IsStreamType(FileType);

    /// <summary>Whether a file of this type (S_IFMT bits) is a stream; see <see cref="IsStream"/>.</summary>
    internal static bool IsStreamType(int fileType) => fileType is Interop.S_IFIFO or Interop.S_IFSOCK or Interop.S_IFCHR;

    /// <summary>
    /// A buffered read of this file may be tried inline with RWF_NOWAIT (AioContext.CachedRead.cs):
    /// open for reading, not O_DIRECT (a direct read would wait for the device), a regular file or
    /// a block device (a page cache; not a stream), and the file system has not refused RWF_NOWAIT.
    /// </summary>
    internal bool MayReadCachedInline
        => CanRead && (OpenFlags & Interop.O_DIRECT) == 0 && FileType is Interop.S_IFREG or Interop.S_IFBLK && !RefusesNoWait;

    /// <summary>Set once a preadv2(RWF_NOWAIT) answered EOPNOTSUPP: not asked again (idempotent, racy by design).</summary>
    internal bool RefusesNoWait { get; set; }

    // 0 unknown, 1 an eventfd, 2 not; learned on first use as an EventFd (readlink is not free).
    private int _eventFd;

    /// <summary>True when the descriptor is an eventfd (its /proc/self/fd link is <c>anon_inode:[eventfd]</c>).</summary>
    internal bool IsEventFd
    {
        get
        {
            int known = Volatile.Read(ref _eventFd);
            if (known == 0)
            {
                known = Interop.IsEventFd(Fd) ? 1 : 2;
                Volatile.Write(ref _eventFd, known); // idempotent: racing writers store the same answer
            }

            return known == 1;
        }
    }
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

        info = null;
        int flags = Interop.fcntl(fd, Interop.F_GETFL);
        if (flags < 0)
        {
            return Interop.LastRes();
        }

        Interop.statx_t st;
        if (Interop.statx(fd, string.Empty, Interop.AT_EMPTY_PATH, Interop.STATX_BASIC_STATS, &st) < 0)
        {
            return Interop.LastRes();
        }

        info = new HandleInfo(handle, fd, flags, st.stx_mode & Interop.S_IFMT, ((ulong)st.stx_dev_major << 32) | st.stx_dev_minor);
        int victim = (int)((uint)Interlocked.Increment(ref _next) % Entries);
        Volatile.Write(ref _entries[victim], info);
        return 0;
    }
}
