// Design: raw system calls through libc's syscall(2), for the calls glibc does not wrap
// (io_uring_setup/enter/register, io_setup/io_destroy/io_submit/io_getevents/io_cancel, futex).
// Each wrapper returns a kernel-style res, as the kernel itself would: the call's value, or
// -errno (syscall(2)'s -1 and errno, turned by ToRes) — one way to read errno for the engines.
// EINTR: a call that never sleeps waiting for an event (setup, destroy, submit, cancel, register)
// is retried here on EINTR, so its callers never see it; a call that waits (io_getevents,
// io_uring_enter with GETEVENTS, futex_wait) returns -EINTR, and its caller's loop looks again
// and recomputes what is left of its timeout.
//
// The AIO numbers differ per architecture (arch/x86/entry/syscalls/syscall_64.tbl and
// include/uapi/asm-generic/unistd.h for arm64); io_uring's are 425-427 everywhere.
// An architecture Kaio does not know gets -1: the wrappers then answer ENOSYS without
// entering the kernel, so probing reports "not supported here" instead of calling a random
// syscall.
using System.Runtime.InteropServices;

namespace Kaio;

internal static unsafe partial class Interop
{
    internal static readonly long SYS_io_setup = SyscallNumber(x64: 206, arm64: 0);
    internal static readonly long SYS_io_destroy = SyscallNumber(x64: 207, arm64: 1);
    internal static readonly long SYS_io_getevents = SyscallNumber(x64: 208, arm64: 4);
    internal static readonly long SYS_io_submit = SyscallNumber(x64: 209, arm64: 2);
    internal static readonly long SYS_io_cancel = SyscallNumber(x64: 210, arm64: 3);
    internal static readonly long SYS_io_uring_setup = SyscallNumber(x64: 425, arm64: 425);
    internal static readonly long SYS_io_uring_enter = SyscallNumber(x64: 426, arm64: 426);
    internal static readonly long SYS_io_uring_register = SyscallNumber(x64: 427, arm64: 427);
    internal static readonly long SYS_futex = SyscallNumber(x64: 202, arm64: 98);

    /// <summary>FUTEX_WAIT | FUTEX_PRIVATE_FLAG (include/uapi/linux/futex.h): the word is this process's own.</summary>
    internal const int FUTEX_WAIT_PRIVATE = 0 | 128;

    /// <summary>FUTEX_WAKE | FUTEX_PRIVATE_FLAG.</summary>
    internal const int FUTEX_WAKE_PRIVATE = 1 | 128;

    internal const int ENOSYS = 38;

    private static long SyscallNumber(long x64, long arm64) => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => x64,
        Architecture.Arm64 => arm64,
        _ => -1,
    };

    // syscall(2) is variadic in C; on x86-64 and arm64 (Linux) integer variadic arguments travel in
    // the same registers as fixed ones, and glibc's syscall() is an assembly shim that only moves
    // registers, so fixed-arity imports of it are exact.
    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall(long number, nint a1, nint a2, nint a3);

    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall(long number, nint a1, nint a2, nint a3, nint a4);

    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall(long number, nint a1, nint a2, nint a3, nint a4, nint a5);

    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    private static long NoSyscall()
    {
        Marshal.SetLastPInvokeError(ENOSYS);
        return -1;
    }

    /// <summary>syscall(2)'s return as a res: the value, or -errno (read right after the call).</summary>
    private static long Res(long ret) => ret >= 0 ? ret : LastRes();

    /// <summary>
    /// A call that never sleeps waiting for an event, as a res, EINTR retried. Arguments it does not
    /// take are passed as 0: the kernel reads only its own, and glibc's shim loads every register anyway.
    /// </summary>
    private static long CallRetryingEintr(long number, nint a1, nint a2 = 0, nint a3 = 0, nint a4 = 0)
    {
        if (number < 0)
        {
            return -ENOSYS;
        }

        long res;
        do
        {
            res = Res(syscall(number, a1, a2, a3, a4));
        }
        while (res == -Errno.EINTR);
        return res;
    }

    // ---- io_uring (include/uapi/linux/io_uring.h, io_uring/io_uring.c) ----

    /// <summary>io_uring_setup(2): the ring fd, or -errno (EINTR retried).</summary>
    internal static int io_uring_setup(uint entries, io_uring_params* p)
        => (int)CallRetryingEintr(SYS_io_uring_setup, (nint)entries, (nint)p);

    /// <summary>
    /// io_uring_enter(2): the number of SQEs consumed, or -errno. It may wait (GETEVENTS), so
    /// -EINTR is returned, not retried: the caller looks again.
    /// </summary>
    internal static int io_uring_enter(int fd, uint to_submit, uint min_complete, uint flags, void* arg, nuint argsz)
        => (int)Res(SYS_io_uring_enter < 0
            ? NoSyscall()
            : syscall(SYS_io_uring_enter, fd, (nint)to_submit, (nint)min_complete, (nint)flags, (nint)arg, (nint)argsz));

    /// <summary>io_uring_register(2): 0 or a count, or -errno (EINTR retried).</summary>
    internal static int io_uring_register(int fd, uint opcode, void* arg, uint nr_args)
        => (int)CallRetryingEintr(SYS_io_uring_register, fd, (nint)opcode, (nint)arg, (nint)nr_args);

    // ---- Linux AIO (include/uapi/linux/aio_abi.h, fs/aio.c) ----

    /// <summary>io_setup(2): creates a context able to hold <paramref name="nr_events"/>; 0, or -errno (EINTR retried).</summary>
    internal static int io_setup(uint nr_events, ulong* ctxp)
        => (int)CallRetryingEintr(SYS_io_setup, (nint)nr_events, (nint)ctxp);

    /// <summary>io_destroy(2): waits for in-flight requests, then frees the context; 0, or -errno (EINTR retried).</summary>
    internal static int io_destroy(ulong ctx_id)
        => (int)CallRetryingEintr(SYS_io_destroy, (nint)ctx_id);

    /// <summary>io_submit(2): how many iocbs were queued, or -errno of the first (EINTR retried).</summary>
    internal static long io_submit(ulong ctx_id, long nr, iocb** iocbpp)
        => CallRetryingEintr(SYS_io_submit, (nint)ctx_id, (nint)nr, (nint)iocbpp);

    /// <summary>io_getevents(2): how many events were read, or -errno; it may wait, so -EINTR is returned.</summary>
    internal static long io_getevents(ulong ctx_id, long min_nr, long nr, io_event* events, timespec* timeout)
        => Res(SYS_io_getevents < 0
            ? NoSyscall()
            : syscall(SYS_io_getevents, (nint)ctx_id, (nint)min_nr, (nint)nr, (nint)events, (nint)timeout));

    /// <summary>io_cancel(2): 0 (old kernels), or -errno (EINTR retried); -EINPROGRESS means the cancel was started.</summary>
    internal static int io_cancel(ulong ctx_id, iocb* iocb, io_event* result)
        => (int)CallRetryingEintr(SYS_io_cancel, (nint)ctx_id, (nint)iocb, (nint)result);

    /// <summary>
    /// futex(2) FUTEX_WAIT_PRIVATE: sleeps while <c>*addr == expected</c>, up to the relative
    /// <paramref name="timeout"/>. 0 when woken; -EAGAIN (the word had changed), -ETIMEDOUT or
    /// -EINTR (returned: the caller looks again).
    /// </summary>
    internal static long futex_wait(int* addr, int expected, timespec* timeout)
        => Res(SYS_futex < 0 ? NoSyscall() : syscall(SYS_futex, (nint)addr, FUTEX_WAIT_PRIVATE, expected, (nint)timeout));

    /// <summary>futex(2) FUTEX_WAKE_PRIVATE: wakes up to <paramref name="count"/> waiters; how many it woke, or -errno.</summary>
    internal static long futex_wake(int* addr, int count)
        => Res(SYS_futex < 0 ? NoSyscall() : syscall(SYS_futex, (nint)addr, FUTEX_WAKE_PRIVATE, count));

    /// <summary>struct __kernel_timespec (16 bytes on 64-bit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct timespec
    {
        public long tv_sec;
        public long tv_nsec;
    }
}
