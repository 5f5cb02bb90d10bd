// Design: opening files for Kaio: .NET's File.OpenHandle has no O_DIRECT or O_DSYNC, so this
// opens with open(2) directly and wraps the descriptor in a SafeFileHandle. Direct-I/O alignment
// is discovered, not assumed: statx's STATX_DIOALIGN (Linux 6.1+), else the device's logical
// block size from sysfs.
using System.Globalization;
using Kaio.Core;

namespace Kaio;

/// <summary>Open flags beyond what <see cref="FileOptions"/> offers.</summary>
[Flags]
public enum AioOpenOptions
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>O_DIRECT: bypass the page cache; buffers, offsets and lengths must be aligned (see <see cref="AioFile.GetDirectIoAlignment"/>).</summary>
    Direct = 1,
    /// <summary>O_DSYNC: every write is data-durable when it completes.</summary>
    Dsync = 2,
    /// <summary>O_SYNC: every write is durable, data and metadata, when it completes.</summary>
    Sync = 4,
}

/// <summary>The alignment direct I/O needs on a file system.</summary>
/// <param name="MemoryAlignment">Buffer addresses must be multiples of this.</param>
/// <param name="OffsetAlignment">File offsets and lengths must be multiples of this.</param>
public readonly record struct DirectIoAlignment(int MemoryAlignment, int OffsetAlignment);

/// <summary>Opening files for Kaio with O_DIRECT, O_DSYNC or O_SYNC.</summary>
public static class AioFile
{
    /// <summary>Opens <paramref name="path"/> with <paramref name="options"/>.</summary>
    /// <exception cref="AioException">
    /// The errno of open(2): ENOENT (no such file with <see cref="FileMode.Open"/>), EACCES, EISDIR, ENOSPC...;
    /// EINVAL when the file system refuses O_DIRECT.
    /// </exception>
    public static SafeFileHandle Open(string path, FileMode mode, FileAccess access, AioOpenOptions options = AioOpenOptions.None)
    {
        ArgumentNullException.ThrowIfNull(path);
        int flags = access switch
        {
            FileAccess.Read => Interop.O_RDONLY,
            FileAccess.Write => Interop.O_WRONLY,
            FileAccess.ReadWrite => Interop.O_RDWR,
            _ => throw new ArgumentOutOfRangeException(nameof(access)),
        };
        flags |= Interop.O_CLOEXEC;
        flags |= mode switch
        {
            FileMode.CreateNew => Interop.O_CREAT | 0x80, // O_EXCL
            FileMode.Create => Interop.O_CREAT | Interop.O_TRUNC,
            FileMode.Open => 0,
            FileMode.OpenOrCreate => Interop.O_CREAT,
            FileMode.Truncate => Interop.O_TRUNC,
            FileMode.Append => Interop.O_CREAT | Interop.O_APPEND,
            _ => throw new ArgumentOutOfRangeException(nameof(mode)),
        };
        if ((options & AioOpenOptions.Direct) != 0)
        {
            flags |= Interop.O_DIRECT;
        }

        if ((options & AioOpenOptions.Sync) != 0)
        {
            flags |= Interop.O_SYNC;
        }
        else if ((options & AioOpenOptions.Dsync) != 0)
        {
            flags |= Interop.O_DSYNC;
        }

        int fd;
        do
        {
            fd = Interop.open(path, flags, 0x1A4 /* 0644 */);
        }
        while (fd < 0 && Interop.LastRes() == -Errno.EINTR);

        if (fd < 0)
        {
            int errno = -Interop.LastRes();
            string what = errno == Errno.EINVAL && (options & AioOpenOptions.Direct) != 0
                ? $"the file system refuses O_DIRECT: {path}"
                : $"open {path}";
            ThrowHelper.ThrowAio(errno, what);
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>
    /// Opens the directory <paramref name="path"/> read-only (O_DIRECTORY), for an fsync that makes
    /// its entries durable: a file just created, renamed or removed survives a crash only once its
    /// directory is synced (<see cref="AioContext.FlushDirectoryAsync"/> does open, sync and close).
    /// .NET's File.OpenHandle refuses directories.
    /// </summary>
    /// <exception cref="AioException">The errno of open(2): ENOENT, ENOTDIR (not a directory), EACCES...</exception>
    public static SafeFileHandle OpenDirectory(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        int fd;
        do
        {
            fd = Interop.open(path, Interop.O_RDONLY | Interop.O_DIRECTORY | Interop.O_CLOEXEC, 0);
        }
        while (fd < 0 && Interop.LastRes() == -Errno.EINTR);

        if (fd < 0)
        {
            ThrowHelper.ThrowAio(-Interop.LastRes(), $"open directory {path}");
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The direct-I/O alignment of the file system holding <paramref name="path"/> (a file or directory).</summary>
    /// <exception cref="AioException">The errno of statx(2), for example ENOENT.</exception>
    public static unsafe DirectIoAlignment GetDirectIoAlignment(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Interop.statx_t st;
        if (Interop.statx(Interop.AT_FDCWD, path, 0, Interop.STATX_BASIC_STATS | Interop.STATX_DIOALIGN, &st) < 0)
        {
            ThrowHelper.ThrowAio(-Interop.LastRes(), $"statx {path}");
        }

        return AlignmentOf(in st);
    }

    /// <summary>The direct-I/O alignment of an open descriptor's file (error messages: the rule an EINVAL broke).</summary>
    /// <exception cref="AioException">The errno of statx(2).</exception>
    internal static unsafe DirectIoAlignment DirectIoAlignmentOf(int fd)
    {
        Interop.statx_t st;
        if (Interop.statx(fd, string.Empty, Interop.AT_EMPTY_PATH, Interop.STATX_BASIC_STATS | Interop.STATX_DIOALIGN, &st) < 0)
        {
            ThrowHelper.ThrowAio(-Interop.LastRes(), "statx");
        }

        return AlignmentOf(in st);
    }

    private static DirectIoAlignment AlignmentOf(in Interop.statx_t st)
    {
        if ((st.stx_mask & Interop.STATX_DIOALIGN) != 0 && st.stx_dio_offset_align != 0)
        {
            return new DirectIoAlignment((int)st.stx_dio_mem_align, (int)st.stx_dio_offset_align);
        }

        // Older kernels, or a file system that does not say: the device's logical block size.
        string sysfs = $"/sys/dev/block/{st.stx_dev_major}:{st.stx_dev_minor}/queue/logical_block_size";
        if (!File.Exists(sysfs))
        {
            sysfs = $"/sys/dev/block/{st.stx_dev_major}:{st.stx_dev_minor}/../queue/logical_block_size";
        }

        if (File.Exists(sysfs) && int.TryParse(File.ReadAllText(sysfs).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int lbs) && lbs > 0)
        {
            return new DirectIoAlignment(lbs, lbs);
        }

        // Nothing better known: the file system's preferred I/O size is a safe multiple.
        int blk = (int)Math.Max(512u, st.stx_blksize);
        return new DirectIoAlignment(blk, blk);
    }
}
