// Design: opening files for Kaio: .NET's File.OpenHandle has no O_DIRECT or O_DSYNC, so this
// opens with open(2) directly and wraps the descriptor in a SafeFileHandle. Direct-I/O alignment
// is discovered, not assumed: statx's STATX_DIOALIGN (Linux 6.1+), else the device's logical
// block size from sysfs.
//
// Parity with File.OpenHandle (issue 9 §4), measured against .NET 10 and departing where said:
// - Arguments: the same checks and types (ArgumentOutOfRangeException for an undefined mode,
//   access or share, or a negative preallocationSize; ArgumentException for a mode that writes
//   with read-only access, Append with read access, preallocation for a file that is not new,
//   a UnixCreateMode with a mode that cannot create or with bits outside 0o7777).
// - Errors: ENOENT → FileNotFoundException (the directory exists) or DirectoryNotFoundException;
//   ENOTDIR → DirectoryNotFoundException; EACCES, EPERM, EISDIR → UnauthorizedAccessException;
//   ENAMETOOLONG → PathTooLongException; a directory opened as a file → UnauthorizedAccessException
//   (open(2) would allow it for reading; .NET refuses it too); anything else → AioException (an
//   IOException, HResult = -errno) naming the errno, EINVAL for a file system that refuses O_DIRECT
//   among them. The mapped exceptions carry an AioException with the errno as InnerException.
// - FileShare: advisory flock(2) only when asked. .NET always takes one (LOCK_SH, or LOCK_EX for
//   FileShare.None), and on NFS flock becomes a byte-range lock through the lock manager, which
//   can hang; so a share that includes both Read and Write takes no lock here (the default), None
//   takes LOCK_EX and any other share LOCK_SH, always non-blocking: a file locked against it is
//   an AioException (EAGAIN, "locked"). As in .NET, a file system without flock (ENOLCK,
//   EOPNOTSUPP) opens unlocked, and a locked open truncates (Create, Truncate) only after the
//   lock is held, so a refused open never empties someone else's file.
// - preallocationSize: fallocate(FALLOC_FL_KEEP_SIZE) for a new file (Create, CreateNew): the
//   blocks are reserved, the length stays 0, as .NET does. ENOSPC/EFBIG delete the file and throw
//   (AioException). A file system that cannot fallocate (EOPNOTSUPP) opens without the
//   reservation: posix_fallocate's fallback would write zeros through the whole range, which is
//   the slow work preallocation is asked to avoid.
// - UnixCreateMode: the mode of a created file, the umask applied by the kernel; by default 0666
//   (so 0644 under the usual umask 022), as .NET creates files.
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
    /// <summary>
    /// Opens <paramref name="path"/> with <paramref name="options"/>, taking no advisory lock
    /// (as <see cref="Open(string, FileMode, FileAccess, FileShare, AioOpenOptions, long, UnixFileMode?)"/>
    /// with <see cref="FileShare.ReadWrite"/>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException">An empty path, or a mode that writes with read-only access.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An undefined <paramref name="mode"/> or <paramref name="access"/>.</exception>
    /// <exception cref="FileNotFoundException">No such file (ENOENT) with <see cref="FileMode.Open"/> or <see cref="FileMode.Truncate"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory of the path is missing or not a directory (ENOENT, ENOTDIR).</exception>
    /// <exception cref="UnauthorizedAccessException">EACCES, EPERM, EISDIR, or the path names a directory.</exception>
    /// <exception cref="AioException">Any other errno of open(2) (EEXIST for <see cref="FileMode.CreateNew"/>, ENOSPC, EMFILE...); EINVAL when the file system refuses O_DIRECT.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the fourth required parameter's type (AioOpenOptions or FileShare), so no call binds ambiguously.")]
    public static SafeFileHandle Open(string path, FileMode mode, FileAccess access, AioOpenOptions options = AioOpenOptions.None)
        => Open(path, mode, access, FileShare.ReadWrite, options);

    /// <summary>
    /// Opens <paramref name="path"/> with <paramref name="options"/>, like
    /// <see cref="File.OpenHandle(string, FileMode, FileAccess, FileShare, FileOptions, long)"/> with a
    /// <see cref="FileStreamOptions.UnixCreateMode"/>, plus O_DIRECT, O_DSYNC or O_SYNC.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="mode">How to open or create it.</param>
    /// <param name="access">Read, write, or both.</param>
    /// <param name="share">
    /// An advisory lock, only when asked: a share with both Read and Write takes none; <see cref="FileShare.None"/>
    /// takes an exclusive flock, any other share a shared one, without waiting. (.NET locks every
    /// open; on NFS that lock can hang.) <see cref="FileShare.Inheritable"/> leaves the descriptor
    /// open across exec (no O_CLOEXEC).
    /// </param>
    /// <param name="options">O_DIRECT, O_DSYNC, O_SYNC.</param>
    /// <param name="preallocationSize">
    /// Bytes to reserve for a new file (<see cref="FileMode.Create"/>, <see cref="FileMode.CreateNew"/>)
    /// with fallocate(FALLOC_FL_KEEP_SIZE): the length stays 0. Ignored where the file system
    /// cannot fallocate.
    /// </param>
    /// <param name="unixCreateMode">The permissions of a created file (the umask applies); null for 0666, as .NET.</param>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// An empty path; a mode that writes (Create, CreateNew, Truncate, Append) with read-only access;
    /// Append with read access; a preallocation for a mode other than Create or CreateNew; a
    /// <paramref name="unixCreateMode"/> with Open or Truncate, or with bits outside 0o7777.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">An undefined mode, access or share; a negative preallocation.</exception>
    /// <exception cref="FileNotFoundException">No such file (ENOENT) with <see cref="FileMode.Open"/> or <see cref="FileMode.Truncate"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory of the path is missing or not a directory (ENOENT, ENOTDIR).</exception>
    /// <exception cref="UnauthorizedAccessException">EACCES, EPERM, EISDIR, or the path names a directory.</exception>
    /// <exception cref="AioException">
    /// Any other errno of open(2) (EEXIST for <see cref="FileMode.CreateNew"/>, ENOSPC, EMFILE...); EINVAL
    /// when the file system refuses O_DIRECT; EAGAIN when <paramref name="share"/> asked for a lock
    /// another open holds; ENOSPC or EFBIG when the preallocation does not fit (the file is removed).
    /// </exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the fourth required parameter's type (AioOpenOptions or FileShare), so no call binds ambiguously.")]
    public static unsafe SafeFileHandle Open(string path, FileMode mode, FileAccess access, FileShare share, AioOpenOptions options = AioOpenOptions.None, long preallocationSize = 0, UnixFileMode? unixCreateMode = null)
    {
        ValidateOpen(path, mode, access, share, preallocationSize, unixCreateMode);
        int flags = access switch
        {
            FileAccess.Read => Interop.O_RDONLY,
            FileAccess.Write => Interop.O_WRONLY,
            _ => Interop.O_RDWR,
        };
        if ((share & FileShare.Inheritable) == 0)
        {
            flags |= Interop.O_CLOEXEC;
        }

        // A lock is asked for when the share leaves out Read or Write (.NET's FileShare.None → LOCK_EX, else LOCK_SH).
        FileShare readWrite = share & FileShare.ReadWrite;
        int lockOperation = readWrite == FileShare.ReadWrite ? 0 : readWrite == FileShare.None ? Interop.LOCK_EX : Interop.LOCK_SH;
        bool truncates = mode is FileMode.Create or FileMode.Truncate;
        flags |= mode switch
        {
            FileMode.CreateNew => Interop.O_CREAT | Interop.O_EXCL,
            FileMode.Create => Interop.O_CREAT,
            FileMode.OpenOrCreate => Interop.O_CREAT,
            FileMode.Append => Interop.O_CREAT | Interop.O_APPEND,
            _ => 0,
        };
        if (truncates && lockOperation == 0)
        {
            flags |= Interop.O_TRUNC; // no lock to wait for: truncate in the open itself
        }

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

        int createMode = unixCreateMode is { } m ? (int)m : 0x1B6 /* 0666: the umask applies */;
        int fd;
        do
        {
            fd = Interop.open(path, flags, createMode);
        }
        while (fd < 0 && Interop.LastRes() == -Errno.EINTR);

        if (fd < 0)
        {
            int errno = -Interop.LastRes();
            if (errno == Errno.EINVAL && (options & AioOpenOptions.Direct) != 0)
            {
                ThrowHelper.ThrowAio(errno, $"the file system refuses O_DIRECT: {path}");
            }

            throw ThrowHelper.ForOpen(errno, path);
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Interop.statx_t st;
            if (Interop.statx(fd, string.Empty, Interop.AT_EMPTY_PATH, Interop.STATX_BASIC_STATS, &st) < 0)
            {
                throw ThrowHelper.ForOpen(-Interop.LastRes(), path);
            }

            if ((st.stx_mode & Interop.S_IFMT) == Interop.S_IFDIR)
            {
                throw ThrowHelper.ForOpen(Errno.EISDIR, path); // AioFile.OpenDirectory is the way to a directory
            }

            if (lockOperation != 0)
            {
                Lock(fd, lockOperation, path);
                if (truncates && Interop.ToRes(Interop.ftruncate(fd, 0)) is int truncated && truncated < 0)
                {
                    ThrowHelper.ThrowAio(-truncated, $"truncate {path}");
                }
            }

            if (preallocationSize > 0)
            {
                Preallocate(fd, path, preallocationSize);
            }
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return handle;
    }

    /// <summary>File.OpenHandle's argument checks (FileStreamHelpers.ValidateArguments), in its types.</summary>
    private static void ValidateOpen(string path, FileMode mode, FileAccess access, FileShare share, long preallocationSize, UnixFileMode? unixCreateMode)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (mode is < FileMode.CreateNew or > FileMode.Append)
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Enum value was out of legal range.");
        }

        if (access is < FileAccess.Read or > FileAccess.ReadWrite)
        {
            throw new ArgumentOutOfRangeException(nameof(access), access, "Enum value was out of legal range.");
        }

        if ((share & ~(FileShare.ReadWrite | FileShare.Delete | FileShare.Inheritable)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(share), share, "Enum value was out of legal range.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(preallocationSize);
        if ((access & FileAccess.Write) == 0 && mode is FileMode.Truncate or FileMode.CreateNew or FileMode.Create or FileMode.Append)
        {
            throw new ArgumentException($"Combining FileMode: {mode} with FileAccess: {access} is invalid.", nameof(access));
        }

        if (mode == FileMode.Append && (access & FileAccess.Read) != 0)
        {
            throw new ArgumentException("Append access can be requested only in write-only mode.", nameof(access));
        }

        if (preallocationSize > 0 && mode is not (FileMode.Create or FileMode.CreateNew))
        {
            throw new ArgumentException("Preallocation size can be requested only for new files.", nameof(mode));
        }

        if (unixCreateMode is { } m)
        {
            if (mode is FileMode.Open or FileMode.Truncate)
            {
                throw new ArgumentException("UnixCreateMode can be requested only for modes that can create new files.", nameof(unixCreateMode));
            }

            if (((int)m & ~0xFFF) != 0)
            {
                throw new ArgumentException("Invalid UnixFileMode value.", nameof(unixCreateMode));
            }
        }
    }

    /// <summary>flock(2) without waiting; EAGAIN (AioException) when another open holds a conflicting lock.</summary>
    private static void Lock(int fd, int operation, string path)
    {
        int res;
        do
        {
            res = Interop.ToRes(Interop.flock(fd, operation | Interop.LOCK_NB));
        }
        while (res == -Errno.EINTR);

        if (res == -Errno.EAGAIN)
        {
            ThrowHelper.ThrowAio(Errno.EAGAIN, $"'{path}' is locked by another open (flock {(operation == Interop.LOCK_EX ? "LOCK_EX" : "LOCK_SH")}: the FileShare asked for excludes it)");
        }

        // ENOLCK, EOPNOTSUPP...: a file system without flock opens unlocked, as .NET does.
    }

    /// <summary>fallocate(FALLOC_FL_KEEP_SIZE, 0, size); a reservation that does not fit removes the new file.</summary>
    private static void Preallocate(int fd, string path, long size)
    {
        int res;
        do
        {
            res = Interop.ToRes(Interop.fallocate(fd, Interop.FALLOC_FL_KEEP_SIZE, 0, size));
        }
        while (res == -Errno.EINTR);

        if (res is -Errno.ENOSPC or -Errno.EFBIG)
        {
            _ = Interop.unlink(path);
            ThrowHelper.ThrowAio(-res, string.Create(CultureInfo.InvariantCulture, $"could not preallocate {size} bytes for '{path}' (the file was removed)"));
        }

        // EOPNOTSUPP, ENOSYS: no reservation where the file system cannot make one (see the Design comment).
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
