namespace Kaio.Tests.Interop;

/// <summary>
/// The raw system-call wrappers answer as the kernel does: the call's value, or -errno — one way
/// to read errno for the engines (syscall(2)'s -1 never reaches them).
/// </summary>
public sealed unsafe class SyscallResTests
{
    private const ulong NoSuchContext = 0xdead_0000_0000;

    [Fact]
    public void IoSubmit_UnknownContext_ReturnsMinusEinval()
    {
        Kaio.Interop.iocb cb = default;
        Kaio.Interop.iocb* p = &cb;
        Assert.Equal(-Errno.EINVAL, Kaio.Interop.io_submit(NoSuchContext, 1, &p));
    }

    [Fact]
    public void IoGetevents_UnknownContext_ReturnsMinusEinval()
    {
        Kaio.Interop.io_event ev;
        Kaio.Interop.timespec zero = default;
        Assert.Equal(-Errno.EINVAL, Kaio.Interop.io_getevents(NoSuchContext, 0, 1, &ev, &zero));
    }

    [Fact]
    public void IoDestroyAndCancel_UnknownContext_ReturnMinusEinval()
    {
        Kaio.Interop.iocb cb = default;
        Kaio.Interop.io_event ev;
        Assert.Equal(-Errno.EINVAL, Kaio.Interop.io_destroy(NoSuchContext));
        Assert.Equal(-Errno.EINVAL, Kaio.Interop.io_cancel(NoSuchContext, &cb, &ev));
    }

    [Fact]
    public void IoUringEnterAndRegister_NotARing_ReturnMinusErrno()
    {
        // fd 0 is not an io_uring: EOPNOTSUPP (an fd of another kind); a closed number: EBADF.
        int enter = Kaio.Interop.io_uring_enter(0, 0, 0, 0, null, 0);
        Assert.True(enter is -Errno.EOPNOTSUPP or -Errno.EBADF, $"io_uring_enter on fd 0: {enter}");
        Assert.Equal(-Errno.EBADF, Kaio.Interop.io_uring_register(int.MaxValue, 0, null, 0));
    }

    [Fact]
    public void FutexWait_WordAlreadyChanged_ReturnsMinusEagain()
    {
        int word = 1;
        Kaio.Interop.timespec ts = new() { tv_sec = 1 };
        Assert.Equal(-Errno.EAGAIN, Kaio.Interop.futex_wait(&word, 0, &ts));
    }
}
