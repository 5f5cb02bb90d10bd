// Design: the file a job works on: choosing where a temporary file goes (a disk-backed file
// system: a tmpfs /tmp would measure memory, not storage), laying it out before the run the way
// fio does ("Laying out IO file"), opening it with the flags the job asks for, and turning every
// way this can fail into one line that names the file and the problem.
using System.Globalization;
using System.Security.Cryptography;
using Kaio.Cli.Jobs;
using Kaio.Cli.Verify;

namespace Kaio.Cli.Workloads;

/// <summary>Preparing and opening job files.</summary>
internal static class TargetFile
{
    private const int LayoutChunk = 1 << 20;

    /// <summary>
    /// A directory for temporary files on a disk-backed file system: the temp directory unless it is
    /// tmpfs or ramfs, then /var/tmp, then the current directory.
    /// </summary>
    public static string ChooseTempDirectory()
    {
        string[] candidates = [Path.GetTempPath(), "/var/tmp", Environment.CurrentDirectory];
        string? fallback = null;
        foreach (string candidate in candidates)
        {
            if (!Directory.Exists(candidate) || !IsWritable(candidate))
            {
                continue;
            }

            fallback ??= candidate;
            string? type = FileSystemType(candidate);
            if (type is not ("tmpfs" or "ramfs"))
            {
                return Path.TrimEndingDirectorySeparator(Path.GetFullPath(candidate));
            }
        }

        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(fallback ?? Environment.CurrentDirectory));
    }

    /// <summary>The file system type of the mount holding <paramref name="path"/>, from /proc/self/mountinfo.</summary>
    public static string? FileSystemType(string path)
    {
        try
        {
            string full = Path.GetFullPath(path);
            string? best = null;
            string? bestType = null;
            foreach (string line in File.ReadLines("/proc/self/mountinfo"))
            {
                // id parent major:minor root mount-point options [optional...] - type source super-options
                string[] fields = line.Split(' ');
                int dash = Array.IndexOf(fields, "-");
                if (fields.Length < 5 || dash < 0 || dash + 1 >= fields.Length)
                {
                    continue;
                }

                string mountPoint = fields[4].Replace("\\040", " ", StringComparison.Ordinal);
                bool contains = mountPoint == "/" || full == mountPoint || full.StartsWith(mountPoint + "/", StringComparison.Ordinal);
                if (contains && (best is null || mountPoint.Length >= best.Length))
                {
                    best = mountPoint;
                    bestType = fields[dash + 1];
                }
            }

            return bestType;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsWritable(string directory)
    {
        try
        {
            string probe = Path.Combine(directory, ".kaio-probe-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Device nodes (on devtmpfs: /dev/full, /dev/nvme0n1) are never laid out or truncated and need
    /// size=; /dev/shm and other file systems mounted under /dev hold ordinary files.
    /// </summary>
    public static bool IsDevice(string path) => File.Exists(path) && FileSystemType(path) is "devtmpfs" or "devfs";

    /// <summary>
    /// Makes sure <paramref name="path"/> holds at least the job's region, laying it out if needed,
    /// and returns the region's size. When verifying, laid-out blocks carry headers of generation 0
    /// and <paramref name="generations"/> records them. <paramref name="stop"/> ends a layout
    /// between chunks; what was written stays, and the next run lays out from there.
    /// </summary>
    public static long Prepare(JobSpec job, string path, Action<string>? log, CancellationToken stop, out long[]? generations)
    {
        generations = null;
        int bs = job.BlockSize;
        bool verifying = job.Verify != VerifyMode.None || job.VerifyOnly;

        // offset and offset_increment: the regions of the job's threads start there; the file reaches the last one's end.
        long before = job.Offset + (job.OffsetIncrement * (job.NumJobs - 1));
        if (IsDevice(path))
        {
            long deviceSize = job.RegionSize ?? throw new WorkloadException(job.SizePercent is null
                ? $"{path}: size= is needed for a device"
                : $"{path}: size= in percent of a device is not supported; give a size");
            deviceSize -= deviceSize % bs;
            if (verifying)
            {
                generations = NewGenerations((before + deviceSize) / bs);
            }

            return deviceSize;
        }

        long length;
        try
        {
            var info = new FileInfo(path);
            if (Directory.Exists(path))
            {
                throw new WorkloadException($"{path}: is a directory");
            }

            length = info.Exists ? info.Length : -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WorkloadException($"{path}: {e.Message}");
        }

        if (job.VerifyOnly && length < 0)
        {
            throw new WorkloadException($"{path}: no such file to verify (verify_only)");
        }

        if (!job.AllowFileCreate && length < 0)
        {
            // fio's extend_file(): "file creation disallowed by allow_file_create=0".
            throw new WorkloadException($"{path}: no such file, and allow_file_create=0 forbids creating it") { Errno = Errno.ENOENT };
        }

        long size = job.RegionSize ?? (length > job.Offset ? length - job.Offset : throw new WorkloadException(length > 0
            ? $"{path}: size= not given and the file ({length} bytes) ends before offset={job.Offset}"
            : $"{path}: size= not given and the file is missing or empty"));
        if (job.RegionSize is null && job.SizePercent is { } percent)
        {
            size = Math.Min(size, (long)(length * percent / 100));
        }

        size -= size % bs;
        if (size < bs)
        {
            throw new WorkloadException($"{path}: the file ({length} bytes) is smaller than bs={FioValues.FormatSize(bs)}");
        }

        long end = before + size;
        if (verifying && before % bs != 0)
        {
            throw new WorkloadException($"{path}: the region starts at {before} (file_append: the file's size), not a multiple of bs={FioValues.FormatSize(bs)}; verify needs whole blocks");
        }

        if (verifying)
        {
            generations = NewGenerations(end / bs);
        }

        if (length >= end || job.VerifyOnly)
        {
            if (job.VerifyOnly && length < end)
            {
                throw new WorkloadException($"{path}: {length} bytes, shorter than size={FioValues.FormatSize(end)} to verify");
            }

            return size;
        }

        if (job.CreateOnOpen)
        {
            return size; // fio's create_on_open: no layout; the job's open creates the file
        }

        if (!LaysOutByWriting(job))
        {
            // fio's extend_file() for a job that does not read: a short file of a writing job is
            // unlinked (unless file_append), then the file is created, fallocated and not written.
            log?.Invoke($"{job.Name}: laying out {path} ({FioValues.FormatSize(end)}; fallocate={job.Fallocate.ToString().ToLowerInvariant()}, not written: the job does not read)");
            Allocate(job, path, length, end, log);
            return size;
        }

        // Verifying, a partial last block is rewritten whole (its header); otherwise what the file holds stays (file_append).
        long start = Math.Max(0, length) - (verifying ? Math.Max(0, length) % bs : 0);
        log?.Invoke($"{job.Name}: laying out {path} ({FioValues.FormatSize(end)})");
        LayOut(job, path, start, end, generations, log, stop);
        return size;
    }

    /// <summary>
    /// fio's extend_file(): whether a missing or short file is laid out by writing it — for a job
    /// that reads (verify_only too), or writes with overwrite (not file_append); otherwise it is only
    /// created and fallocated, and that layout is not shared with the group's other jobs. kaio
    /// also writes it for a job with verify: every block then carries a header, which is how a
    /// later verify job checks the whole file (fio's verify_only replays the writes instead).
    /// </summary>
    public static bool LaysOutByWriting(JobSpec job)
        => !job.CreateOnOpen && (job.ReadWrite.HasReads() || job.VerifyOnly || job.Verify != VerifyMode.None || (job.ReadWrite.HasDataWrites() && job.Overwrite && !job.FileAppend));

    /// <summary>A file for a job that does not read: unlinked first when the job writes (fio's unlink_file), created, fallocated to <paramref name="end"/>.</summary>
    private static void Allocate(JobSpec job, string path, long length, long end, Action<string>? log)
    {
        try
        {
            if (length >= 0 && job.ReadWrite.HasDataWrites() && !job.Overwrite && !job.FileAppend)
            {
                File.Delete(path);
            }

            using SafeFileHandle handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            Reserve(job, handle, path, end, log);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Describe(e, path, "laying out");
        }
    }

    /// <summary>fio's fallocate_file(): reserves [0, <paramref name="end"/>) as the job's fallocate says; keep and truncate fail the job, native falls back to none, posix reports and goes on.</summary>
    private static void Reserve(JobSpec job, SafeFileHandle handle, string path, long end, Action<string>? log)
    {
        int res = job.Fallocate switch
        {
            FallocateChoice.Native or FallocateChoice.Keep => PageCache.Fallocate(handle, job.Fallocate == FallocateChoice.Keep ? FallocKeepSize : 0, 0, end),
            FallocateChoice.Posix => PageCache.PosixFallocate(handle, 0, end),
            FallocateChoice.Truncate => PageCache.Ftruncate(handle, end),
            _ => 0,
        };
        if (res >= 0 || job.Fallocate == FallocateChoice.Native)
        {
            return;
        }

        if (job.Fallocate == FallocateChoice.Posix)
        {
            log?.Invoke($"{path}: posix_fallocate failed: {ErrnoText.Describe(-res)}");
            return;
        }

        throw new WorkloadException($"{path}: {(job.Fallocate == FallocateChoice.Keep ? "fallocate (fallocate=keep)" : "ftruncate (fallocate=truncate)")} failed: {ErrnoText.Describe(-res)}") { Errno = -res };
    }

    /// <summary>FALLOC_FL_KEEP_SIZE from linux/falloc.h.</summary>
    private const int FallocKeepSize = 0x01;

    private static long[] NewGenerations(long blocks)
    {
        var generations = new long[blocks];
        Array.Fill(generations, -1L);
        return generations;
    }

    private static void LayOut(JobSpec job, string path, long start, long size, long[]? generations, Action<string>? log, CancellationToken stop)
    {
        int bs = job.BlockSize;
        int chunk = Math.Max(bs, LayoutChunk - (LayoutChunk % bs));
        byte[] buffer = new byte[chunk];
        RandomNumberGenerator.Fill(buffer);
        try
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            Reserve(job, handle, path, size, log); // fio reserves the space, then writes it
            for (long offset = start; offset < size; offset += chunk)
            {
                if (stop.IsCancellationRequested)
                {
                    throw new WorkloadException($"{path}: interrupted while laying out");
                }

                int length = (int)Math.Min(chunk, size - offset);
                if (generations is not null)
                {
                    for (int at = 0; at + bs <= length; at += bs)
                    {
                        long blockOffset = offset + at;
                        BlockVerifier.Fill(buffer.AsSpan(at, bs), blockOffset, job.Seed, 0, job);
                        generations[blockOffset / bs] = 0;
                    }
                }

                RandomAccess.Write(handle, buffer.AsSpan(0, length), offset);
            }

            // fio's create_fsync (default 1): the layout reaches the disk, so its pages are clean and
            // invalidate can drop them (POSIX_FADV_DONTNEED leaves dirty pages in the cache).
            int fsync = PageCache.Fsync(handle);
            if (fsync < 0)
            {
                throw new WorkloadException($"{path}: fsync after laying out failed: {ErrnoText.Describe(-fsync)}") { Errno = -fsync };
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Describe(e, path, "laying out");
        }
    }

    /// <summary>Opens the job's file for one thread.</summary>
    public static SafeFileHandle Open(JobSpec job, string path, bool forBaseline)
    {
        bool writes = job.ReadWrite.HasWrites() && !job.VerifyOnly;
        FileAccess access = writes ? FileAccess.ReadWrite : FileAccess.Read;
        AioOpenOptions options = job.Direct ? AioOpenOptions.Direct : AioOpenOptions.None;
        if (forBaseline)
        {
            // RandomAccess has no per-write flags: the same durability comes from O_SYNC / O_DSYNC.
            options |= job.Sync switch
            {
                SyncMode.Sync => AioOpenOptions.Sync,
                SyncMode.Dsync => AioOpenOptions.Dsync,
                _ => AioOpenOptions.None,
            };
        }

        // create_on_open: the file is made here, empty (fio's open with O_CREAT), unless allow_file_create=0.
        FileMode mode = job.CreateOnOpen && job.AllowFileCreate ? FileMode.OpenOrCreate : FileMode.Open;
        try
        {
            return options == AioOpenOptions.None
                ? File.OpenHandle(path, mode, access, FileShare.ReadWrite | FileShare.Delete)
                : AioFile.Open(path, mode, access, options);
        }
        catch (AioException e) when (e.Errno == Errno.EINVAL && job.Direct)
        {
            throw new WorkloadException($"{path}: the file system refuses O_DIRECT (direct=1): invalid argument (EINVAL)") { Errno = e.Errno };
        }
        catch (AioException e)
        {
            throw new WorkloadException($"{path}: opening failed: {ErrnoText.Describe(e.Errno)}") { Errno = e.Errno };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Describe(e, path, "opening");
        }
    }

    /// <summary>
    /// One buffer of bs per request in flight, filled with random bytes (incompressible writes) or buffer_pattern,
    /// aligned for O_DIRECT when the job asks for it; bs must then be a multiple of the file
    /// system's direct I/O alignment.
    /// </summary>
    public static AlignedBufferPool CreateBuffers(JobSpec job, string path)
    {
        int alignment = 4096;
        if (job.Direct)
        {
            DirectIoAlignment direct = AioFile.GetDirectIoAlignment(path);
            int misaligned = RequestSizes(job).FirstOrDefault(size => direct.OffsetAlignment > 0 && size % direct.OffsetAlignment != 0);
            if (misaligned > 0)
            {
                throw new WorkloadException($"{path}: bs={misaligned} is not a multiple of the file system's direct I/O alignment ({direct.OffsetAlignment})") { Errno = Errno.EINVAL };
            }

            alignment = Math.Max(alignment, direct.MemoryAlignment);
        }

        AlignedBufferPool buffers;
        try
        {
            buffers = new AlignedBufferPool(job.BlockSize, alignment, job.IoDepth);
        }
        catch (OutOfMemoryException)
        {
            // Memory taken since the up-front check (MemoryBudget), by this run or another process.
            throw new WorkloadException($"{path}: cannot allocate memory for iodepth={job.IoDepth} buffers of bs={FioValues.FormatSize(job.BlockSize)}") { Errno = Errno.ENOMEM };
        }


        for (int i = 0; i < job.IoDepth; i++)
        {
            Span<byte> buffer = buffers[i].Span;
            if (job.BufferPattern is { } pattern)
            {
                // fio's buffer_pattern: the pattern repeated from the start of each buffer.
                for (int at = 0; at < buffer.Length; at += pattern.Length)
                {
                    pattern.AsSpan(0, Math.Min(pattern.Length, buffer.Length - at)).CopyTo(buffer[at..]);
                }
            }
            else
            {
                Random.Shared.NextBytes(buffer);
            }
        }

        return buffers;
    }

    /// <summary>Every request size and random-offset alignment the job can use (direct I/O needs each aligned).</summary>
    private static IEnumerable<int> RequestSizes(JobSpec job)
    {
        foreach (Direction direction in (Direction[])[Direction.Read, Direction.Write])
        {
            if (direction == Direction.Read ? !job.ReadWrite.HasReads() : !job.ReadWrite.HasDataWrites())
            {
                continue; // trims carry no buffer and fallocate needs no alignment
            }

            BlockSizeChoice sizes = job.Sizes(direction);
            yield return sizes.Min;
            yield return job.Alignment(direction);
            if (sizes.Split is { } split)
            {
                foreach (BlockSplit entry in split)
                {
                    yield return entry.Size;
                }
            }
        }

        if (job.RwSkip != 0)
        {
            yield return (int)Math.Abs(job.RwSkip);
        }
    }

    /// <summary>One line for a .NET I/O exception, naming the file and, where known, the errno.</summary>
    public static WorkloadException Describe(Exception e, string path, string doing)
    {
        int errno = e switch
        {
            AioException aio => aio.Errno,
            UnauthorizedAccessException => ErrnoText.EACCES,
            FileNotFoundException or DirectoryNotFoundException => Errno.ENOENT,
            IOException io when io.HResult is > 0 and < 4096 => io.HResult,
            _ => 0,
        };
        string what = errno != 0 ? ErrnoText.Describe(errno) : e.Message;
        return new WorkloadException($"{path}: {doing} failed: {what}", e) { Errno = errno != 0 ? errno : Errno.EIO };
    }
}

/// <summary>The open files of one job thread (several with nrfiles or filename=a:b), closed together.</summary>
internal sealed class FileHandles : IDisposable
{
    private FileHandles(SafeFileHandle[] handles) => Handles = handles;

    /// <summary>One handle per path, in order.</summary>
    public SafeFileHandle[] Handles { get; }

    /// <summary>Opens every path for the job; on a failure closes those already open and rethrows.</summary>
    public static FileHandles Open(JobSpec job, string[] paths, bool forBaseline)
    {
        var handles = new SafeFileHandle[paths.Length];
        try
        {
            for (int i = 0; i < paths.Length; i++)
            {
                handles[i] = TargetFile.Open(job, paths[i], forBaseline);
            }
        }
        catch
        {
            foreach (SafeFileHandle? handle in handles)
            {
                handle?.Dispose();
            }

            throw;
        }

        return new FileHandles(handles);
    }

    public void Dispose()
    {
        foreach (SafeFileHandle handle in Handles)
        {
            handle.Dispose();
        }
    }
}

/// <summary>Words for the errno values a benchmark meets.</summary>
internal static class ErrnoText
{
    public const int EACCES = 13;
    public const int EISDIR = 21;
    public const int EROFS = 30;
    public const int ETIMEDOUT = 110;

    /// <summary><c>no space left on device (ENOSPC)</c>.</summary>
    public static string Describe(int errno) => (errno switch
    {
        Errno.EPERM => "operation not permitted",
        Errno.ENOENT => "no such file or directory",
        Errno.EIO => "I/O error",
        Errno.EBADF => "bad file descriptor",
        Errno.EAGAIN => "resource temporarily unavailable",
        Errno.ENOMEM => "out of memory",
        EACCES => "permission denied",
        EISDIR => "is a directory",
        Errno.EINVAL => "invalid argument",
        Errno.ENOSPC => "no space left on device",
        EROFS => "read-only file system",
        ETIMEDOUT => "timed out",
        Errno.ENOSYS => "function not implemented",
        Errno.EOPNOTSUPP => "operation not supported",
        Errno.ECANCELED => "operation cancelled",
        _ => "error",
    }) + " (" + Name(errno) + ")";

    private static string Name(int errno) => errno switch
    {
        EACCES => "EACCES",
        EISDIR => "EISDIR",
        EROFS => "EROFS",
        ETIMEDOUT => "ETIMEDOUT",
        _ => Errno.Name(errno),
    };
}
