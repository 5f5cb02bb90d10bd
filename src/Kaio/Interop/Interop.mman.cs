// Design: mmap/munmap for io_uring's rings, and the SafeHandle that owns a mapping so that no
// path (constructor unwinding, teardown, finalizer) can leak or double-unmap it.
using System.Runtime.InteropServices;

namespace Kaio;

internal static unsafe partial class Interop
{
    internal const int PROT_READ = 0x1;
    internal const int PROT_WRITE = 0x2;
    internal const int MAP_SHARED = 0x01;
    internal const int MAP_POPULATE = 0x008000;

    /// <summary>mmap's failure value, (void*)-1.</summary>
    internal const nint MAP_FAILED = -1;

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int munmap(void* addr, nuint length);

    // The end of the user half of the address space (TASK_SIZE_MAX): x86-64 with 4-level paging
    // (1 << 47) - PAGE_SIZE, with 5-level paging (la57) (1 << 56) - PAGE_SIZE; arm64 at most
    // 1 << 52 (VA_BITS). Only a range past the 47-bit limit pays for the la57 check.
    private const ulong UserEnd47 = (1UL << 47) - 4096;
    private static ulong s_userEnd;

    /// <summary>
    /// access_ok(): true when [<paramref name="address"/>, +<paramref name="length"/>) lies in the
    /// user half of the address space. The kernel refuses any other buffer at submit with EFAULT
    /// (import_ubuf/import_iovec); a user address that is not mapped fails later, in the event.
    /// </summary>
    internal static bool IsUserRange(void* address, long length)
    {
        if (length <= 0)
        {
            return true; // access_ok(p, 0) holds for any p
        }

        ulong start = (ulong)address;
        ulong end = start + (ulong)length;
        return end >= start && (end <= UserEnd47 || end <= UserEnd());
    }

    private static ulong UserEnd()
    {
        ulong end = Volatile.Read(ref s_userEnd);
        if (end == 0)
        {
            end = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => HasLa57() ? (1UL << 56) - 4096 : UserEnd47,
                Architecture.Arm64 => 1UL << 52,
                _ => 1UL << 63,
            };
            Volatile.Write(ref s_userEnd, end); // idempotent
        }

        return end;
    }

    private static bool HasLa57()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("flags", StringComparison.Ordinal))
                {
                    return line.Contains(" la57", StringComparison.Ordinal);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return false;
    }
}

/// <summary>Owns one mmap'd region; unmapped once, on Dispose or finalization.</summary>
internal sealed unsafe class SafeMappedRegionHandle : SafeHandle
{
    /// <summary>An invalid handle; <see cref="Map"/> makes valid ones.</summary>
    public SafeMappedRegionHandle()
        : base(Interop.MAP_FAILED, ownsHandle: true)
    {
    }

    /// <summary>The mapping's length in bytes.</summary>
    public nuint Length { get; private set; }

    /// <summary>The mapping's first byte.</summary>
    public byte* Pointer => (byte*)handle;

    public override bool IsInvalid => handle == Interop.MAP_FAILED || handle == 0;

    /// <summary>
    /// Maps <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="offset"/>
    /// shared and read-write. On failure returns an invalid handle and the -errno in <paramref name="res"/>.
    /// </summary>
    public static SafeMappedRegionHandle Map(int fd, nuint length, long offset, int extraFlags, out int res)
    {
        var region = new SafeMappedRegionHandle();
        void* p = Interop.mmap(null, length, Interop.PROT_READ | Interop.PROT_WRITE, Interop.MAP_SHARED | extraFlags, fd, offset);
        if ((nint)p == Interop.MAP_FAILED)
        {
            res = Interop.LastRes();
            return region;
        }

        region.SetHandle((nint)p);
        region.Length = length;
        res = 0;
        return region;
    }

    protected override bool ReleaseHandle() => Interop.munmap((void*)handle, Length) == 0;
}
