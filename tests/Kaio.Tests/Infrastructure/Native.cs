using System.Runtime.InteropServices;

namespace Kaio.Tests.Infrastructure;

/// <summary>Descriptors the tests need that .NET does not hand out: pipes and eventfds.</summary>
public static unsafe partial class Native
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_fadvise(int fd, long offset, long len, int advice);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    public static (SafeFileHandle Read, SafeFileHandle Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, 0x80000 /* O_CLOEXEC */) < 0)
        {
            throw new IOException("pipe2 failed: " + Marshal.GetLastPInvokeError());
        }

        return (new SafeFileHandle(fds[0], true), new SafeFileHandle(fds[1], true));
    }

    public static SafeFileHandle EventFd()
    {
        int fd = eventfd(0, 0x80000 | 0x800 /* EFD_CLOEXEC | EFD_NONBLOCK */);
        if (fd < 0)
        {
            throw new IOException("eventfd failed: " + Marshal.GetLastPInvokeError());
        }

        return new SafeFileHandle(fd, true);
    }

    /// <summary>Reads an eventfd counter (0 when not signalled; the read resets it).</summary>
    public static ulong ReadEventFd(SafeHandle efd)
    {
        ulong value = 0;
        nint n = read((int)efd.DangerousGetHandle(), &value, 8);
        return n == 8 ? value : 0;
    }

    public static void WriteByte(SafeHandle fd, byte b)
    {
        if (write((int)fd.DangerousGetHandle(), &b, 1) != 1)
        {
            throw new IOException("write failed: " + Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Drops a file's pages from the page cache (they must be clean: syncs first).</summary>
    public static void DropCache(SafeFileHandle fd)
    {
        fdatasync((int)fd.DangerousGetHandle());
        posix_fadvise((int)fd.DangerousGetHandle(), 0, 0, 4 /* POSIX_FADV_DONTNEED */);
    }
}
