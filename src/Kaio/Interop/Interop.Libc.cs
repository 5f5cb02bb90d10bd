// Design: the libc calls the core and the thread-pool engine make, with kernel spelling. Every
// call is a blittable LibraryImport with SetLastError; results follow the kernel convention
// (-1 and errno) and ToRes() turns them into res (>= 0, or -errno).
using System.Runtime.InteropServices;

namespace Kaio;

internal static unsafe partial class Interop
{
    private const string Libc = "libc";

    /// <summary>struct iovec (16 bytes on 64-bit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct iovec
    {
        public void* iov_base;
        public nuint iov_len;
    }

    /// <summary>struct pollfd (8 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct pollfd
    {
        public int fd;
        public short events;
        public short revents;
    }

    internal const int O_RDONLY = 0x0000;
    internal const int O_WRONLY = 0x0001;
    internal const int O_RDWR = 0x0002;
    internal const int O_ACCMODE = 0x0003;
    internal const int O_CREAT = 0x0040;
    internal const int O_EXCL = 0x0080;
    internal const int O_TRUNC = 0x0200;
    internal const int O_APPEND = 0x0400;
    internal const int O_NONBLOCK = 0x0800;
    internal const int O_DSYNC = 0x1000;
    internal const int O_CLOEXEC = 0x80000;
    internal const int O_SYNC = 0x101000;
    // O_DIRECT differs per architecture: 040000 on x86-64, 0200000 on arm64.
    internal static readonly int O_DIRECT = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;
    // O_DIRECTORY too, the other way round: 0200000 on x86-64, 040000 on arm64.
    internal static readonly int O_DIRECTORY = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;

    internal const int F_GETFL = 3;
    internal const int F_SETFL = 4;

    internal const int EFD_SEMAPHORE = 0x1;
    internal const int EFD_CLOEXEC = 0x80000;
    internal const int EFD_NONBLOCK = 0x800;

    internal const int RWF_HIPRI = 0x00000001;
    internal const int RWF_DSYNC = 0x00000002;
    internal const int RWF_SYNC = 0x00000004;
    internal const int RWF_NOWAIT = 0x00000008;
    internal const int RWF_APPEND = 0x00000010;

    // include/uapi/linux/stat.h writes these in octal: S_IFMT 00170000, S_IFSOCK 0140000,
    // S_IFREG 0100000, S_IFBLK 0060000, S_IFDIR 0040000, S_IFCHR 0020000, S_IFIFO 0010000.
    internal const int S_IFMT = 0xF000;
    internal const int S_IFSOCK = 0xC000;
    internal const int S_IFREG = 0x8000;
    internal const int S_IFBLK = 0x6000;
    internal const int S_IFDIR = 0x4000;
    internal const int S_IFCHR = 0x2000;
    internal const int S_IFIFO = 0x1000;

    internal const int AT_FDCWD = -100;
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const uint STATX_BASIC_STATS = 0x000007ffU;
    internal const uint STATX_DIOALIGN = 0x00002000U;

    /// <summary>struct statx (256 bytes); only the fields Kaio reads are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct statx_t
    {
        [FieldOffset(0)] public uint stx_mask;
        [FieldOffset(4)] public uint stx_blksize;
        [FieldOffset(28)] public ushort stx_mode;
        [FieldOffset(40)] public ulong stx_size;
        [FieldOffset(48)] public ulong stx_blocks; // 512-byte units allocated (the preallocation tests read it)
        [FieldOffset(136)] public uint stx_dev_major;
        [FieldOffset(140)] public uint stx_dev_minor;
        [FieldOffset(152)] public uint stx_dio_mem_align;
        [FieldOffset(156)] public uint stx_dio_offset_align;
    }

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint pread(int fd, void* buf, nuint count, long offset);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint pwrite(int fd, void* buf, nuint count, long offset);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint preadv2(int fd, iovec* iov, int iovcnt, long offset, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint pwritev2(int fd, iovec* iov, int iovcnt, long offset, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int fsync(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int fdatasync(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int poll(pollfd* fds, nuint nfds, int timeout);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int fcntl(int fd, int cmd);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int pipe2(int* fds, int flags);

    [LibraryImport(Libc, EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mkfifo(string path, uint mode);

    internal const int POSIX_FADV_RANDOM = 1;
    internal const int POSIX_FADV_DONTNEED = 4;

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int posix_fadvise(int fd, long offset, long len, int advice);

    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags, int mode);

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int statx(int dirfd, string path, int flags, uint mask, statx_t* buf);

    internal const uint FIONREAD = 0x541B;

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int ioctl(int fd, uint request, int* arg);

    [LibraryImport(Libc, EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint readlink(string path, byte* buf, nuint bufsiz);

    /// <summary>
    /// The path <paramref name="fd"/> was opened by, as /proc/self/fd names it (a deleted file ends
    /// in " (deleted)"; a pipe reads <c>pipe:[inode]</c>), or null when it cannot be read. Error
    /// messages only: never on a success path.
    /// </summary>
    internal static string? PathOfFd(int fd)
    {
        const int PathMax = 4096;
        byte[] buf = new byte[PathMax];
        nint n;
        fixed (byte* p = buf)
        {
            n = readlink("/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture), p, PathMax);
        }

        return n > 0 && n < PathMax ? System.Text.Encoding.UTF8.GetString(buf, 0, (int)n) : null;
    }

    // flock(2) operations (include/uapi/asm-generic/fcntl.h).
    internal const int LOCK_SH = 1;
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int flock(int fd, int operation);

    // fallocate(2) mode (include/uapi/linux/falloc.h).
    internal const int FALLOC_FL_ALLOCATE_RANGE = 0x00;
    internal const int FALLOC_FL_KEEP_SIZE = 0x01;
    internal const int FALLOC_FL_PUNCH_HOLE = 0x02;
    internal const int FALLOC_FL_COLLAPSE_RANGE = 0x08;
    internal const int FALLOC_FL_ZERO_RANGE = 0x10;
    internal const int FALLOC_FL_INSERT_RANGE = 0x20;

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int fallocate(int fd, int mode, long offset, long len);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int ftruncate(int fd, long length);

    [LibraryImport(Libc, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int unlink(string path);

    /// <summary>True when <paramref name="fd"/> is an eventfd: its /proc/self/fd link reads <c>anon_inode:[eventfd]</c> (fs/eventfd.c names its anon inode so).</summary>
    internal static bool IsEventFd(int fd)
    {
        ReadOnlySpan<byte> expected = "anon_inode:[eventfd]"u8;
        byte* buf = stackalloc byte[64];
        nint n = readlink("/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture), buf, 64);
        return n == expected.Length && new ReadOnlySpan<byte>(buf, (int)n).SequenceEqual(expected);
    }

    /// <summary>struct __user_cap_header_struct (linux/capability.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct cap_user_header_t
    {
        public uint version;
        public int pid;
    }

    /// <summary>struct __user_cap_data_struct (linux/capability.h); version 3 takes two of them.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct cap_user_data_t
    {
        public uint effective;
        public uint permitted;
        public uint inheritable;
    }

    internal const uint _LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    internal const int CAP_SYS_ADMIN = 21;
    internal const int CAP_SYS_NICE = 23;

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int capget(cap_user_header_t* hdrp, cap_user_data_t* datap);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int capset(cap_user_header_t* hdrp, cap_user_data_t* datap);

    /// <summary>True when the calling thread has <paramref name="cap"/> (below 32) in its effective set.</summary>
    internal static bool HasCapability(int cap)
    {
        cap_user_header_t hdr = new() { version = _LINUX_CAPABILITY_VERSION_3, pid = 0 };
        cap_user_data_t* data = stackalloc cap_user_data_t[2];
        return capget(&hdr, data) == 0 && (data[0].effective & (1u << cap)) != 0;
    }

    /// <summary>The errno of the last failed call, as a negative res.</summary>
    internal static int LastRes() => -Marshal.GetLastPInvokeError();

    /// <summary>Turns a libc return (-1 and errno) into a kernel-style res.</summary>
    internal static long ToRes(nint ret) => ret >= 0 ? ret : LastRes();

    /// <summary>Turns a libc return (-1 and errno) into a kernel-style res.</summary>
    internal static int ToRes(int ret) => ret >= 0 ? ret : LastRes();
}
