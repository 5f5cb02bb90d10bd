using System.Runtime.CompilerServices;
using static Kaio.Interop;

namespace Kaio.Tests.Interop;

/// <summary>The io_uring mirrors against include/uapi/linux/io_uring.h: sizes, offsets, constants.</summary>
public sealed class IoUringLayoutTests
{
    [Fact]
    public void IoUringSqe_SizeAndOffsets_MatchHeader()
    {
        io_uring_sqe s = default;
        Assert.Equal(64, Unsafe.SizeOf<io_uring_sqe>());
        Assert.Equal(0, Layout.Offset(ref s, ref s.opcode));
        Assert.Equal(1, Layout.Offset(ref s, ref s.flags));
        Assert.Equal(2, Layout.Offset(ref s, ref s.ioprio));
        Assert.Equal(4, Layout.Offset(ref s, ref s.fd));
        Assert.Equal(8, Layout.Offset(ref s, ref s.off));
        Assert.Equal(8, Layout.Offset(ref s, ref s.addr2));
        Assert.Equal(16, Layout.Offset(ref s, ref s.addr));
        Assert.Equal(24, Layout.Offset(ref s, ref s.len));
        Assert.Equal(28, Layout.Offset(ref s, ref s.rw_flags));
        Assert.Equal(28, Layout.Offset(ref s, ref s.fsync_flags));
        Assert.Equal(28, Layout.Offset(ref s, ref s.poll_events));
        Assert.Equal(28, Layout.Offset(ref s, ref s.poll32_events));
        Assert.Equal(28, Layout.Offset(ref s, ref s.cancel_flags));
        Assert.Equal(32, Layout.Offset(ref s, ref s.user_data));
        Assert.Equal(40, Layout.Offset(ref s, ref s.buf_index));
        Assert.Equal(42, Layout.Offset(ref s, ref s.personality));
        Assert.Equal(44, Layout.Offset(ref s, ref s.file_index));
        Assert.Equal(48, Layout.Offset(ref s, ref s.addr3));
        Assert.Equal(56, Layout.Offset(ref s, ref s.__pad2));
    }

    [Fact]
    public void IoUringGeteventsArg_SizeAndOffsets_MatchHeader()
    {
        io_uring_getevents_arg a = default;
        Assert.Equal(24, Unsafe.SizeOf<io_uring_getevents_arg>());
        Assert.Equal(0, Layout.Offset(ref a, ref a.sigmask));
        Assert.Equal(8, Layout.Offset(ref a, ref a.sigmask_sz));
        Assert.Equal(12, Layout.Offset(ref a, ref a.pad));
        Assert.Equal(16, Layout.Offset(ref a, ref a.ts));
        Assert.Equal(1u << 3, IORING_ENTER_EXT_ARG);
        Assert.Equal(1u << 8, IORING_FEAT_EXT_ARG);
    }

    [Fact]
    public void IoUringCqe_SizeAndOffsets_MatchHeader()
    {
        io_uring_cqe c = default;
        Assert.Equal(16, Unsafe.SizeOf<io_uring_cqe>());
        Assert.Equal(0, Layout.Offset(ref c, ref c.user_data));
        Assert.Equal(8, Layout.Offset(ref c, ref c.res));
        Assert.Equal(12, Layout.Offset(ref c, ref c.flags));
    }

    [Fact]
    public void RingOffsets_SizeAndOffsets_MatchHeader()
    {
        io_sqring_offsets sq = default;
        Assert.Equal(40, Unsafe.SizeOf<io_sqring_offsets>());
        Assert.Equal(0, Layout.Offset(ref sq, ref sq.head));
        Assert.Equal(4, Layout.Offset(ref sq, ref sq.tail));
        Assert.Equal(8, Layout.Offset(ref sq, ref sq.ring_mask));
        Assert.Equal(12, Layout.Offset(ref sq, ref sq.ring_entries));
        Assert.Equal(16, Layout.Offset(ref sq, ref sq.flags));
        Assert.Equal(20, Layout.Offset(ref sq, ref sq.dropped));
        Assert.Equal(24, Layout.Offset(ref sq, ref sq.array));
        Assert.Equal(28, Layout.Offset(ref sq, ref sq.resv1));
        Assert.Equal(32, Layout.Offset(ref sq, ref sq.user_addr));

        io_cqring_offsets cq = default;
        Assert.Equal(40, Unsafe.SizeOf<io_cqring_offsets>());
        Assert.Equal(0, Layout.Offset(ref cq, ref cq.head));
        Assert.Equal(4, Layout.Offset(ref cq, ref cq.tail));
        Assert.Equal(8, Layout.Offset(ref cq, ref cq.ring_mask));
        Assert.Equal(12, Layout.Offset(ref cq, ref cq.ring_entries));
        Assert.Equal(16, Layout.Offset(ref cq, ref cq.overflow));
        Assert.Equal(20, Layout.Offset(ref cq, ref cq.cqes));
        Assert.Equal(24, Layout.Offset(ref cq, ref cq.flags));
        Assert.Equal(28, Layout.Offset(ref cq, ref cq.resv1));
        Assert.Equal(32, Layout.Offset(ref cq, ref cq.user_addr));
    }

    [Fact]
    public unsafe void IoUringParams_SizeAndOffsets_MatchHeader()
    {
        io_uring_params p = default;
        Assert.Equal(120, Unsafe.SizeOf<io_uring_params>());
        Assert.Equal(0, Layout.Offset(ref p, ref p.sq_entries));
        Assert.Equal(4, Layout.Offset(ref p, ref p.cq_entries));
        Assert.Equal(8, Layout.Offset(ref p, ref p.flags));
        Assert.Equal(12, Layout.Offset(ref p, ref p.sq_thread_cpu));
        Assert.Equal(16, Layout.Offset(ref p, ref p.sq_thread_idle));
        Assert.Equal(20, Layout.Offset(ref p, ref p.features));
        Assert.Equal(24, Layout.Offset(ref p, ref p.wq_fd));
        Assert.Equal(28, Layout.Offset(ref p, ref p.resv[0]));
        Assert.Equal(40, Layout.Offset(ref p, ref p.sq_off));
        Assert.Equal(80, Layout.Offset(ref p, ref p.cq_off));
    }

    [Fact]
    public void IoUringProbe_Sizes_MatchHeader()
    {
        Assert.Equal(16, Unsafe.SizeOf<io_uring_probe>());
        Assert.Equal(8, Unsafe.SizeOf<io_uring_probe_op>());
        io_uring_probe_op op = default;
        Assert.Equal(2, Layout.Offset(ref op, ref op.flags));
    }

    [Fact]
    public void Opcodes_Values_MatchEnumIoUringOp()
    {
        Assert.Equal(0, IORING_OP_NOP);
        Assert.Equal(1, IORING_OP_READV);
        Assert.Equal(2, IORING_OP_WRITEV);
        Assert.Equal(3, IORING_OP_FSYNC);
        Assert.Equal(4, IORING_OP_READ_FIXED);
        Assert.Equal(5, IORING_OP_WRITE_FIXED);
        Assert.Equal(6, IORING_OP_POLL_ADD);
        Assert.Equal(7, IORING_OP_POLL_REMOVE);
        Assert.Equal(14, IORING_OP_ASYNC_CANCEL);
        Assert.Equal(17, IORING_OP_FALLOCATE);
        Assert.Equal(22, IORING_OP_READ);
        Assert.Equal(23, IORING_OP_WRITE);
    }

    [Fact]
    public void Flags_Values_AreTheHeadersMasks()
    {
        // Masks, never bit numbers (a C# binding once shipped the bit numbers).
        Assert.Equal(0x1, IOSQE_FIXED_FILE);
        Assert.Equal(0x2, IOSQE_IO_DRAIN);
        Assert.Equal(0x4, IOSQE_IO_LINK);
        Assert.Equal(0x8, IOSQE_IO_HARDLINK);
        Assert.Equal(0x10, IOSQE_ASYNC);
        Assert.Equal(0x20, IOSQE_BUFFER_SELECT);
        Assert.Equal(0x40, IOSQE_CQE_SKIP_SUCCESS);

        Assert.Equal(0x1u, IORING_SETUP_IOPOLL);
        Assert.Equal(0x2u, IORING_SETUP_SQPOLL);
        Assert.Equal(0x4u, IORING_SETUP_SQ_AFF);
        Assert.Equal(0x8u, IORING_SETUP_CQSIZE);
        Assert.Equal(0x10u, IORING_SETUP_CLAMP);
        Assert.Equal(0x20u, IORING_SETUP_ATTACH_WQ);
        Assert.Equal(0x40u, IORING_SETUP_R_DISABLED);
        Assert.Equal(0x80u, IORING_SETUP_SUBMIT_ALL);
        Assert.Equal(0x100u, IORING_SETUP_COOP_TASKRUN);
        Assert.Equal(0x200u, IORING_SETUP_TASKRUN_FLAG);
        Assert.Equal(0x400u, IORING_SETUP_SQE128);
        Assert.Equal(0x800u, IORING_SETUP_CQE32);
        Assert.Equal(0x1000u, IORING_SETUP_SINGLE_ISSUER);
        Assert.Equal(0x2000u, IORING_SETUP_DEFER_TASKRUN);
        Assert.Equal(0x4000u, IORING_SETUP_NO_MMAP);
        Assert.Equal(0x8000u, IORING_SETUP_REGISTERED_FD_ONLY);
        Assert.Equal(0x10000u, IORING_SETUP_NO_SQARRAY);

        Assert.Equal(0x1u, IORING_FSYNC_DATASYNC);
        Assert.Equal(0x1u, IORING_ASYNC_CANCEL_ALL);
        Assert.Equal(0x2u, IORING_ASYNC_CANCEL_FD);
        Assert.Equal(0x4u, IORING_ASYNC_CANCEL_ANY);
        Assert.Equal(0x8u, IORING_ASYNC_CANCEL_FD_FIXED);
        Assert.Equal(0x10u, IORING_ASYNC_CANCEL_USERDATA);
        Assert.Equal(0x20u, IORING_ASYNC_CANCEL_OP);

        Assert.Equal(0x1u, IORING_CQE_F_BUFFER);
        Assert.Equal(0x2u, IORING_CQE_F_MORE);
        Assert.Equal(0x4u, IORING_CQE_F_SOCK_NONEMPTY);
        Assert.Equal(0x8u, IORING_CQE_F_NOTIF);

        Assert.Equal(0x1u, IORING_SQ_NEED_WAKEUP);
        Assert.Equal(0x2u, IORING_SQ_CQ_OVERFLOW);
        Assert.Equal(0x4u, IORING_SQ_TASKRUN);
        Assert.Equal(0x1u, IORING_CQ_EVENTFD_DISABLED);

        Assert.Equal(0x1u, IORING_ENTER_GETEVENTS);
        Assert.Equal(0x2u, IORING_ENTER_SQ_WAKEUP);
        Assert.Equal(0x4u, IORING_ENTER_SQ_WAIT);
        Assert.Equal(0x8u, IORING_ENTER_EXT_ARG);

        Assert.Equal(0x1u, IORING_FEAT_SINGLE_MMAP);
        Assert.Equal(0x2u, IORING_FEAT_NODROP);
        Assert.Equal(0x4u, IORING_FEAT_SUBMIT_STABLE);
        Assert.Equal(0x8u, IORING_FEAT_RW_CUR_POS);
        Assert.Equal(0x10u, IORING_FEAT_CUR_PERSONALITY);
        Assert.Equal(0x20u, IORING_FEAT_FAST_POLL);
        Assert.Equal(0x40u, IORING_FEAT_POLL_32BITS);
        Assert.Equal(0x80u, IORING_FEAT_SQPOLL_NONFIXED);
        Assert.Equal(0x100u, IORING_FEAT_EXT_ARG);
        Assert.Equal(0x200u, IORING_FEAT_NATIVE_WORKERS);

        Assert.Equal(0x1, IO_URING_OP_SUPPORTED);
    }

    [Fact]
    public void MmapOffsetsAndRegisterOpcodes_Values_MatchHeader()
    {
        Assert.Equal(0L, IORING_OFF_SQ_RING);
        Assert.Equal(0x8000000L, IORING_OFF_CQ_RING);
        Assert.Equal(0x10000000L, IORING_OFF_SQES);

        Assert.Equal(0u, IORING_REGISTER_BUFFERS);
        Assert.Equal(1u, IORING_UNREGISTER_BUFFERS);
        Assert.Equal(2u, IORING_REGISTER_FILES);
        Assert.Equal(3u, IORING_UNREGISTER_FILES);
        Assert.Equal(4u, IORING_REGISTER_EVENTFD);
        Assert.Equal(5u, IORING_UNREGISTER_EVENTFD);
        Assert.Equal(8u, IORING_REGISTER_PROBE);
    }

    [Fact]
    public void RwFlags_Values_MatchLinuxFs()
    {
        Assert.Equal(RWF_HIPRI, (int)AioRwFlags.HiPri);
        Assert.Equal(RWF_DSYNC, (int)AioRwFlags.Dsync);
        Assert.Equal(RWF_SYNC, (int)AioRwFlags.Sync);
        Assert.Equal(RWF_NOWAIT, (int)AioRwFlags.NoWait);
        Assert.Equal(RWF_APPEND, (int)AioRwFlags.Append);
    }

    [Fact]
    public void FallocateMode_Values_MatchFalloc()
    {
        Assert.Equal(0x00, FALLOC_FL_ALLOCATE_RANGE);
        Assert.Equal(0x01, FALLOC_FL_KEEP_SIZE);
        Assert.Equal(0x02, FALLOC_FL_PUNCH_HOLE);
        Assert.Equal(0x08, FALLOC_FL_COLLAPSE_RANGE);
        Assert.Equal(0x10, FALLOC_FL_ZERO_RANGE);
        Assert.Equal(0x20, FALLOC_FL_INSERT_RANGE);

        Assert.Equal(FALLOC_FL_ALLOCATE_RANGE, (int)FallocateMode.None);
        Assert.Equal(FALLOC_FL_KEEP_SIZE, (int)FallocateMode.KeepSize);
        Assert.Equal(FALLOC_FL_PUNCH_HOLE, (int)FallocateMode.PunchHole);
        Assert.Equal(FALLOC_FL_COLLAPSE_RANGE, (int)FallocateMode.CollapseRange);
        Assert.Equal(FALLOC_FL_ZERO_RANGE, (int)FallocateMode.ZeroRange);
        Assert.Equal(FALLOC_FL_INSERT_RANGE, (int)FallocateMode.InsertRange);
    }
}
