using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static Kaio.Interop;

namespace Kaio.Tests.Interop;

/// <summary>The Linux AIO mirrors against include/uapi/linux/aio_abi.h and fs/aio.c's struct aio_ring.</summary>
public sealed class AioAbiLayoutTests
{
    [Fact]
    public void Iocb_SizeAndOffsets_MatchHeader()
    {
        iocb cb = default;
        Assert.Equal(64, Unsafe.SizeOf<iocb>());
        Assert.Equal(0, Layout.Offset(ref cb, ref cb.aio_data));
        Assert.Equal(8, Layout.Offset(ref cb, ref cb.aio_key));
        Assert.Equal(12, Layout.Offset(ref cb, ref cb.aio_rw_flags));
        Assert.Equal(16, Layout.Offset(ref cb, ref cb.aio_lio_opcode));
        Assert.Equal(18, Layout.Offset(ref cb, ref cb.aio_reqprio));
        Assert.Equal(20, Layout.Offset(ref cb, ref cb.aio_fildes));
        Assert.Equal(24, Layout.Offset(ref cb, ref cb.aio_buf));
        Assert.Equal(32, Layout.Offset(ref cb, ref cb.aio_nbytes));
        Assert.Equal(40, Layout.Offset(ref cb, ref cb.aio_offset));
        Assert.Equal(48, Layout.Offset(ref cb, ref cb.aio_reserved2));
        Assert.Equal(56, Layout.Offset(ref cb, ref cb.aio_flags));
        Assert.Equal(60, Layout.Offset(ref cb, ref cb.aio_resfd));
    }

    [Fact]
    public void IoEvent_SizeAndOffsets_MatchHeader()
    {
        io_event ev = default;
        Assert.Equal(32, Unsafe.SizeOf<io_event>());
        Assert.Equal(0, Layout.Offset(ref ev, ref ev.data));
        Assert.Equal(8, Layout.Offset(ref ev, ref ev.obj));
        Assert.Equal(16, Layout.Offset(ref ev, ref ev.res));
        Assert.Equal(24, Layout.Offset(ref ev, ref ev.res2));
    }

    [Fact]
    public void AioRing_SizeAndOffsets_MatchFsAio()
    {
        aio_ring r = default;
        Assert.Equal(32, Unsafe.SizeOf<aio_ring>());
        Assert.Equal(8, Layout.Offset(ref r, ref r.head));
        Assert.Equal(12, Layout.Offset(ref r, ref r.tail));
        Assert.Equal(16, Layout.Offset(ref r, ref r.magic));
        Assert.Equal(28, Layout.Offset(ref r, ref r.header_length));
        Assert.Equal(0xa10a10a1u, AIO_RING_MAGIC);
    }

    [Fact]
    public void Timespec_Size_Is16()
    {
        Assert.Equal(16, Unsafe.SizeOf<timespec>());
    }

    [Fact]
    public void Commands_Values_MatchHeaderAndIocbCommand()
    {
        Assert.Equal(0, IOCB_CMD_PREAD);
        Assert.Equal(1, IOCB_CMD_PWRITE);
        Assert.Equal(2, IOCB_CMD_FSYNC);
        Assert.Equal(3, IOCB_CMD_FDSYNC);
        Assert.Equal(5, IOCB_CMD_POLL);
        Assert.Equal(6, IOCB_CMD_NOOP);
        Assert.Equal(7, IOCB_CMD_PREADV);
        Assert.Equal(8, IOCB_CMD_PWRITEV);

        Assert.Equal(IOCB_CMD_PREAD, (ushort)IocbCommand.Pread);
        Assert.Equal(IOCB_CMD_PWRITE, (ushort)IocbCommand.Pwrite);
        Assert.Equal(IOCB_CMD_FSYNC, (ushort)IocbCommand.Fsync);
        Assert.Equal(IOCB_CMD_FDSYNC, (ushort)IocbCommand.Fdsync);
        Assert.Equal(IOCB_CMD_POLL, (ushort)IocbCommand.Poll);
        Assert.Equal(IOCB_CMD_NOOP, (ushort)IocbCommand.Noop);
        Assert.Equal(IOCB_CMD_PREADV, (ushort)IocbCommand.Preadv);
        Assert.Equal(IOCB_CMD_PWRITEV, (ushort)IocbCommand.Pwritev);
    }

    [Fact]
    public void IocbFlags_Values_AreMasks()
    {
        Assert.Equal(0x1u, IOCB_FLAG_RESFD);
        Assert.Equal(0x2u, IOCB_FLAG_IOPRIO);
    }

    [Fact]
    public void SyscallNumbers_ThisArchitecture_MatchTheTable()
    {
        switch (RuntimeInformation.ProcessArchitecture)
        {
            case Architecture.X64:
                Assert.Equal(206, SYS_io_setup);
                Assert.Equal(207, SYS_io_destroy);
                Assert.Equal(208, SYS_io_getevents);
                Assert.Equal(209, SYS_io_submit);
                Assert.Equal(210, SYS_io_cancel);
                break;
            case Architecture.Arm64:
                Assert.Equal(0, SYS_io_setup);
                Assert.Equal(1, SYS_io_destroy);
                Assert.Equal(2, SYS_io_submit);
                Assert.Equal(3, SYS_io_cancel);
                Assert.Equal(4, SYS_io_getevents);
                break;
            default:
                Assert.Skip("no syscall table for " + RuntimeInformation.ProcessArchitecture);
                break;
        }

        Assert.Equal(425, SYS_io_uring_setup);
        Assert.Equal(426, SYS_io_uring_enter);
        Assert.Equal(427, SYS_io_uring_register);
    }
}
