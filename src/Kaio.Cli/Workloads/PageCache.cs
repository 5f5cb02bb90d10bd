// Design: fio's invalidate (filesetup.c __file_invalidate_cache()): before a job's I/O starts,
// posix_fadvise(POSIX_FADV_DONTNEED) over the job's region of each file, so a buffered job starts
// from a cold cache as fio's does. As in fio, a failure is reported and is not fatal, and a
// diskless engine (null) invalidates nothing. The kernel drops only clean pages: the layout
// fsyncs (fio's create_fsync) so a file kaio has just laid out is dropped whole. Called on the
// runner's thread before the group's threads start; no shared state. The layout's other calls
// (fallocate, posix_fallocate, ftruncate for fio's fallocate=) are here too, as result codes.
using System.Runtime.InteropServices;
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>Dropping and flushing page-cache pages of job files, and reserving their space; result codes (0, or −errno), as the kernel gives them.</summary>
internal static class PageCache
{
    /// <summary>fio's POSIX_FADV_DONTNEED from linux/fadvise.h (64-bit architectures).</summary>
    private const int PosixFadvDontneed = 4;

    /// <summary>posix_fadvise(fd, offset, length, POSIX_FADV_DONTNEED): 0, or −errno (EBADF, EINVAL, ESPIPE).</summary>
    public static int DropRange(SafeFileHandle handle, long offset, long length)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            // posix_fadvise returns the error number itself and leaves errno alone.
            return -NativeMethods.posix_fadvise((int)handle.DangerousGetHandle(), offset, length, PosixFadvDontneed);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>fsync(fd): 0, or −errno (EIO, ENOSPC, EDQUOT, EROFS, EINVAL).</summary>
    public static int Fsync(SafeFileHandle handle) => Retrying(handle, fd => NativeMethods.fsync(fd));

    /// <summary>fallocate(fd, mode, offset, length): 0, or −errno (EOPNOTSUPP, ENOSPC, EFBIG, EINVAL).</summary>
    public static int Fallocate(SafeFileHandle handle, int mode, long offset, long length) => Retrying(handle, fd => NativeMethods.fallocate(fd, mode, offset, length));

    /// <summary>ftruncate(fd, length): 0, or −errno (EFBIG, EINVAL, EIO).</summary>
    public static int Ftruncate(SafeFileHandle handle, long length) => Retrying(handle, fd => NativeMethods.ftruncate(fd, length));

    /// <summary>posix_fallocate(fd, offset, length): 0, or −errno (ENOSPC, EFBIG, EINVAL); it returns the error itself.</summary>
    public static int PosixFallocate(SafeFileHandle handle, long offset, long length)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return -NativeMethods.posix_fallocate((int)handle.DangerousGetHandle(), offset, length);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>A call that returns -1 and sets errno, retried on EINTR.</summary>
    private static int Retrying(SafeFileHandle handle, Func<int, int> call)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            while (true)
            {
                if (call((int)handle.DangerousGetHandle()) == 0)
                {
                    return 0;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    return -errno;
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// invalidate=1: drops the cache of each region (path, offset, length) of the jobs' threads, once
    /// per distinct region; a failure is logged (fio: "cache invalidation of FILE failed") and the run goes on.
    /// </summary>
    public static void Invalidate(IEnumerable<JobThread> threads, Action<string>? log)
    {
        var done = new HashSet<(string, long, long)>();
        foreach (JobThread thread in threads)
        {
            if (!thread.Job.Invalidate || thread.Job.IoEngine.Kind == AioEngineKind.Null)
            {
                continue;
            }

            foreach ((string path, long offset, long length) in Regions(thread))
            {
                if (!done.Add((path, offset, length)) || !File.Exists(path))
                {
                    continue; // a file create_on_open makes when the job opens it has nothing cached
                }

                int res;
                try
                {
                    using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    res = DropRange(handle, offset, length);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    log?.Invoke($"{thread.Job.Name}: cache invalidation of {path} failed: {e.Message}");
                    continue;
                }

                if (res < 0)
                {
                    log?.Invoke($"{thread.Job.Name}: cache invalidation of {path} failed: {ErrnoText.Describe(-res)}");
                }
            }
        }
    }

    /// <summary>
    /// Before a thread's verify pass (fio's do_verify()): fsync each of its files and, with
    /// invalidate, drop its region from the cache (a failure to drop is not fatal, as in fio).
    /// Returns 0, or the first fsync's −errno. On the thread's own thread, after its writes drained.
    /// </summary>
    public static int SyncForVerify(JobThread thread)
    {
        foreach ((string path, long offset, long length) in Regions(thread))
        {
            try
            {
                using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                int res = Fsync(handle);
                if (res < 0)
                {
                    return res;
                }

                if (thread.Job.Invalidate)
                {
                    _ = DropRange(handle, offset, length);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw TargetFile.Describe(e, path, "opening to verify");
            }
        }

        return 0;
    }

    /// <summary>fio's file_offset and io_size of each of the thread's files.</summary>
    private static IEnumerable<(string Path, long Offset, long Length)> Regions(JobThread thread)
    {
        if (thread.Files is { } files)
        {
            for (int i = 0; i < files.Length; i++)
            {
                yield return (files[i], thread.FileOffset, thread.FileLength(i));
            }
        }
        else
        {
            yield return (thread.Path, thread.RegionStart, thread.RegionLength);
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = false)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int posix_fadvise(int fd, long offset, long len, int advice);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int fallocate(int fd, int mode, long offset, long len);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int ftruncate(int fd, long length);

        [DllImport("libc", SetLastError = false)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int posix_fallocate(int fd, long offset, long len);
    }
}
