using System.Buffers;
using System.Runtime.InteropServices;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>
/// What io_submit refuses before a request exists, whatever the engine: a descriptor that is not
/// open (EBADF, every command), an EventFd that is not an eventfd (EINVAL: nothing is ever written
/// into it), a bad I/O priority (EINVAL, or EPERM for the real-time class without the capability),
/// a buffer outside user memory (EFAULT). Each leaves the context usable and its budget full.
/// </summary>
public abstract partial class ConformanceTests
{
    /// <summary>A descriptor number far above anything a test process opens: never open.</summary>
    private const int NeverOpenFd = 987_654;

    [Fact]
    public async Task Submit_DescriptorNotOpen_EbadfAtSubmitForEveryCommand()
    {
        using var notOpen = new SafeFileHandle(NeverOpenFd, ownsHandle: false);
        await using AioContext ctx = NewContext();
        Memory<byte>[] vec = [new byte[16]];
        Iocb[] all =
        [
            Iocb.PrepPread(notOpen, new byte[16], 0),
            Iocb.PrepPwrite(notOpen, new byte[16], 0),
            Iocb.PrepPreadv(notOpen, vec, 0),
            Iocb.PrepPwritev(notOpen, vec, 0),
            Iocb.PrepFsync(notOpen),
            Iocb.PrepFdsync(notOpen),
            Iocb.PrepPoll(notOpen, PollEvents.In),
        ];
        foreach (Iocb cb in all)
        {
            Assert.Equal(Errno.EBADF, SubmitRefused(ctx, cb).Errno);
        }

        CancellationToken ct = TestContext.Current.CancellationToken;
        Assert.Equal(Errno.EBADF, Assert.Throws<AioException>(() => { _ = ctx.ReadAsync(notOpen, new byte[16], 0, ct).AsTask(); }).Errno);
        Assert.Equal(Errno.EBADF, Assert.Throws<AioException>(() => { _ = ctx.WriteAsync(notOpen, new byte[16], 0, cancellationToken: ct).AsTask(); }).Errno);
        Assert.Equal(Errno.EBADF, Assert.Throws<AioException>(() => { _ = ctx.FlushAsync(notOpen, cancellationToken: ct).AsTask(); }).Errno);
        AssertIdle(ctx);
        Assert.Equal(0, SubmitOne(ctx, Iocb.PrepNoop()).Result); // still usable
    }

    [Fact]
    public void Submit_EventFdNotAnEventfd_EinvalAndNothingWritten()
    {
        using var file = new TempFile(4096);
        using var target = new TempFile(64);
        using SafeFileHandle h = file.OpenRead();
        using SafeFileHandle regular = target.OpenReadWrite();
        var (pipeRead, pipeWrite) = Native.Pipe();
        using (pipeRead)
        using (pipeWrite)
        {
            using AioContext ctx = NewContext();
            foreach (SafeHandle notEventFd in new SafeHandle[] { regular, pipeWrite })
            {
                Iocb cb = Iocb.PrepPread(h, new byte[16], 0);
                cb.EventFd = notEventFd;
                Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, cb).Errno);
                Iocb noop = Iocb.PrepNoop();
                noop.EventFd = notEventFd;
                Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, noop).Errno);
            }

            AssertIdle(ctx);
            Assert.Equal(target.Content, File.ReadAllBytes(target.Path)); // no counter landed in the file
            Assert.Equal(0, Native.BytesAvailable(pipeRead));

            // A real eventfd is still accepted and signalled.
            using SafeFileHandle efd = Native.EventFd();
            Iocb ok = Iocb.PrepNoop(data: 5);
            ok.EventFd = efd;
            Assert.Equal(0, SubmitOne(ctx, ok).Result);
            Assert.Equal(1ul, Native.ReadEventFd(efd));
            AssertIdle(ctx);
        }
    }

    [Theory]
    [InlineData(4, 0)] // classes 4-6 are not defined
    [InlineData(6, 1)]
    [InlineData(7, 0)] // IOPRIO_CLASS_INVALID
    [InlineData(0, 3)] // class none takes no level
    public void Submit_InvalidIoPriority_EinvalAtSubmit(int ioClass, int level)
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        Iocb read = Iocb.PrepPread(h, new byte[16], 0);
        read.Priority = IoPriority.Value(ioClass, level);
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, read).Errno);
        Iocb write = Iocb.PrepPwrite(h, new byte[16], 0);
        write.Priority = IoPriority.Value(ioClass, level);
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, write).Errno);
        AssertIdle(ctx);
    }

    [Theory]
    [InlineData(IoPriority.ClassBestEffort, 0)]
    [InlineData(IoPriority.ClassBestEffort, 7)]
    [InlineData(IoPriority.ClassIdle, 0)]
    [InlineData(IoPriority.ClassRealTime, 4)] // the test runs as root: allowed
    public void Submit_ValidIoPriority_AcceptedAndTheKernelAgrees(int ioClass, int level)
    {
        if (ioClass == IoPriority.ClassRealTime && !Kaio.Interop.HasCapability(Kaio.Interop.CAP_SYS_NICE) && !Kaio.Interop.HasCapability(Kaio.Interop.CAP_SYS_ADMIN))
        {
            Assert.Skip("the real-time class needs CAP_SYS_NICE or CAP_SYS_ADMIN, which this process lacks");
        }

        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = NewContext();
        Iocb read = Iocb.PrepPread(h, new byte[16], 0);
        read.Priority = IoPriority.Value(ioClass, level);
        // Accepted at submit means the kernel takes it too: the event is the read, never -EINVAL.
        Assert.Equal(16, SubmitOne(ctx, read).Result);
        AssertIdle(ctx);
    }

    [Theory]
    [InlineData((2 << 13) | (1 << 3))]     // best effort with a hint
    [InlineData((2 << 13) | (0x3FF << 3))] // every hint bit
    [InlineData((0 << 13) | (5 << 3))]     // class none, level 0, a hint
    [InlineData((3 << 13) | 5)]            // idle ignores its level
    public void Submit_PriorityHintBits_AcceptedAsTheKernelDoes(int priority)
    {
        // ioprio_check_cap() looks at class and level only; Linux 6.18 completes these reads
        // through io_uring and the kernel's AIO alike (measured), so Kaio accepts them too.
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = NewContext();
        Iocb read = Iocb.PrepPread(h, new byte[16], 0);
        read.Priority = (ushort)priority;
        Assert.Equal(16, SubmitOne(ctx, read).Result);
        AssertIdle(ctx);
    }

    [Fact]
    public void Submit_RealTimePriorityWithoutCapability_Eperm()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = NewContext();
        Exception? failure = null;
        int errno = 0;
        bool dropped = false;
        // Capabilities belong to a thread: drop CAP_SYS_NICE and CAP_SYS_ADMIN from this one's
        // effective set only (it ends after the test), and submit from it.
        var thread = new Thread(() =>
        {
            try
            {
                dropped = Native.DropEffectiveCapabilities(Kaio.Interop.CAP_SYS_NICE, Kaio.Interop.CAP_SYS_ADMIN);
                Iocb cb = Iocb.PrepPread(h, new byte[16], 0);
                cb.Priority = IoPriority.Value(IoPriority.ClassRealTime, 0);
                errno = SubmitRefused(ctx, cb).Errno;
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        Assert.True(dropped, "capset could not drop the capabilities");
        Assert.Null(failure);
        Assert.Equal(Errno.EPERM, errno);
        AssertIdle(ctx);
    }

    [Fact]
    public void Submit_PriorityOnFsyncOrPoll_IgnoredAsTheKernelDoes()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        // Only aio_prep_rw() reads aio_reqprio: Fsync and Fdsync ignore it.
        Iocb fsync = Iocb.PrepFsync(h);
        fsync.Priority = IoPriority.Value(7, 0);
        Assert.Equal(0, SubmitOne(ctx, fsync).Result);
        AssertIdle(ctx);
    }

    [Fact]
    public async Task Submit_BufferOutsideUserMemory_EfaultAtSubmit()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        await using AioContext ctx = NewContext();
        // A custom MemoryManager can pin to any address; this one names the kernel's half.
        using var kernelHalf = new FixedAddressMemory(unchecked((nint)0xFFFF_8000_0000_0000UL), 4096);
        using var straddling = new FixedAddressMemory(unchecked((nint)((1L << 47) - 2048)), 4096);
        foreach (FixedAddressMemory bad in new[] { kernelHalf, straddling })
        {
            Assert.Equal(Errno.EFAULT, SubmitRefused(ctx, Iocb.PrepPread(h, bad.Memory, 0)).Errno);
            Assert.Equal(Errno.EFAULT, SubmitRefused(ctx, Iocb.PrepPwrite(h, bad.Memory, 0)).Errno);
            Memory<byte>[] vec = [new byte[16], bad.Memory];
            Assert.Equal(Errno.EFAULT, SubmitRefused(ctx, Iocb.PrepPreadv(h, vec, 0)).Errno);
            CancellationToken ct = TestContext.Current.CancellationToken;
            Assert.Equal(Errno.EFAULT, Assert.Throws<AioException>(() => { _ = ctx.ReadAsync(h, bad.Memory, 0, ct).AsTask(); }).Errno);
        }

        Assert.Equal(0, kernelHalf.PinCount + straddling.PinCount); // every pin taken was released
        AssertIdle(ctx);
    }

    [Fact]
    public void Pread_UnmappedUserAddress_EfaultInTheEvent()
    {
        RequireRealIo();
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = NewContext();
        // A user address that is not mapped passes access_ok(): the kernel's copy faults later.
        using var unmapped = new FixedAddressMemory(0x1000, 4096);
        Assert.Equal(-Errno.EFAULT, SubmitOne(ctx, Iocb.PrepPread(h, unmapped.Memory, 0)).Result);
        AssertIdle(ctx);
    }

    /// <summary>Memory at a fixed address that is never dereferenced by managed code; counts its pins.</summary>
    private sealed unsafe class FixedAddressMemory(nint address, int length) : MemoryManager<byte>
    {
        private int _pins;

        internal int PinCount => Volatile.Read(ref _pins);

        public new Memory<byte> Memory => CreateMemory(length);

        public override Span<byte> GetSpan() => new((void*)address, length);

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            Interlocked.Increment(ref _pins);
            return new MemoryHandle((byte*)address + elementIndex, default, this);
        }

        public override void Unpin() => Interlocked.Decrement(ref _pins);

        protected override void Dispose(bool disposing)
        {
        }
    }
}
