using System.Runtime.InteropServices;

namespace Kaio.Tests.Infrastructure;

/// <summary>
/// Descriptors the tests need that .NET does not hand out (pipes, eventfds), made through the
/// library's own interop layer so that there is one set of P/Invoke declarations.
/// </summary>
public static unsafe class Native
{
    public static (SafeFileHandle Read, SafeFileHandle Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (Kaio.Interop.pipe2(fds, Kaio.Interop.O_CLOEXEC) < 0)
        {
            throw new IOException("pipe2 failed: " + Marshal.GetLastPInvokeError());
        }

        return (new SafeFileHandle(fds[0], true), new SafeFileHandle(fds[1], true));
    }

    public static SafeFileHandle EventFd()
    {
        int fd = Kaio.Interop.eventfd(0, Kaio.Interop.EFD_CLOEXEC | Kaio.Interop.EFD_NONBLOCK);
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
        nint n = Kaio.Interop.read((int)efd.DangerousGetHandle(), &value, 8);
        return n == 8 ? value : 0;
    }

    public static void WriteByte(SafeHandle fd, byte b)
    {
        if (Kaio.Interop.write((int)fd.DangerousGetHandle(), &b, 1) != 1)
        {
            throw new IOException("write failed: " + Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Drops a file's pages from the page cache (they must be clean: syncs first).</summary>
    public static void DropCache(SafeFileHandle fd)
    {
        int raw = (int)fd.DangerousGetHandle();
        Kaio.Interop.fdatasync(raw);
        Kaio.Interop.posix_fadvise(raw, 0, 0, Kaio.Interop.POSIX_FADV_DONTNEED);
    }

    /// <summary>
    /// Which pages of [<paramref name="offset"/>, +<paramref name="length"/>) the page cache holds:
    /// mincore over a read-only shared mapping, which itself brings nothing in. The offset is page aligned.
    /// </summary>
    public static bool[] Resident(SafeFileHandle fd, long offset, int length)
    {
        int page = Environment.SystemPageSize;
        void* map = Kaio.Interop.mmap(null, (nuint)length, Kaio.Interop.PROT_READ, Kaio.Interop.MAP_SHARED, (int)fd.DangerousGetHandle(), offset);
        if ((nint)map == Kaio.Interop.MAP_FAILED)
        {
            throw new IOException("mmap failed: " + Marshal.GetLastPInvokeError());
        }

        try
        {
            byte* vector = stackalloc byte[(length + page - 1) / page];
            if (mincore(map, (nuint)length, vector) != 0)
            {
                throw new IOException("mincore failed: " + Marshal.GetLastPInvokeError());
            }

            var resident = new bool[(length + page - 1) / page];
            for (int i = 0; i < resident.Length; i++)
            {
                resident[i] = (vector[i] & 1) != 0;
            }

            return resident;
        }
        finally
        {
            Kaio.Interop.munmap(map, (nuint)length);
        }
    }

    // The one declaration of the tests' own: the library has no use for mincore.
    [DllImport("libc", SetLastError = true)]
    private static extern int mincore(void* addr, nuint length, byte* vec);

    /// <summary>Turns readahead off for the file (POSIX_FADV_RANDOM): a read brings in only its own pages.</summary>
    public static void NoReadahead(SafeFileHandle fd) => Kaio.Interop.posix_fadvise((int)fd.DangerousGetHandle(), 0, 0, Kaio.Interop.POSIX_FADV_RANDOM);

    /// <summary>A file's length, the bytes allocated to it (st_blocks × 512) and its block size (statx).</summary>
    public static (long Length, long Allocated, int BlockSize) Space(string path)
    {
        Kaio.Interop.statx_t st;
        if (Kaio.Interop.statx(Kaio.Interop.AT_FDCWD, path, 0, Kaio.Interop.STATX_BASIC_STATS, &st) != 0)
        {
            throw new IOException("statx failed: " + Marshal.GetLastPInvokeError());
        }

        return ((long)st.stx_size, (long)st.stx_blocks * 512, (int)st.stx_blksize);
    }

    /// <summary>Bytes waiting in a pipe (FIONREAD).</summary>
    public static int BytesAvailable(SafeHandle fd)
    {
        int n = 0;
        if (Kaio.Interop.ioctl((int)fd.DangerousGetHandle(), Kaio.Interop.FIONREAD, &n) < 0)
        {
            throw new IOException("ioctl(FIONREAD) failed: " + Marshal.GetLastPInvokeError());
        }

        return n;
    }

    /// <summary>Drops capabilities (below 32) from the calling thread's effective set; false when capset refuses.</summary>
    public static bool DropEffectiveCapabilities(params int[] caps)
    {
        Kaio.Interop.cap_user_header_t hdr = new() { version = Kaio.Interop._LINUX_CAPABILITY_VERSION_3, pid = 0 };
        Kaio.Interop.cap_user_data_t* data = stackalloc Kaio.Interop.cap_user_data_t[2];
        if (Kaio.Interop.capget(&hdr, data) != 0)
        {
            return false;
        }

        foreach (int cap in caps)
        {
            data[0].effective &= ~(1u << cap);
        }

        return Kaio.Interop.capset(&hdr, data) == 0
            && caps.All(cap => !Kaio.Interop.HasCapability(cap));
    }
}
