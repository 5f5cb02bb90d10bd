// Design: the io_uring ABI, mirrored from include/uapi/linux/io_uring.h with the kernel's
// spelling so every name greps against the header. Only what Kaio uses is mirrored; each struct
// states its size, and tests/Kaio.Tests/Interop pins sizes, offsets and constant values.
using System.Runtime.InteropServices;

namespace Kaio;

internal static unsafe partial class Interop
{
    /// <summary>struct io_uring_sqe (64 bytes): one submission queue entry. Unions are overlapping fields.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    internal struct io_uring_sqe
    {
        [FieldOffset(0)] public byte opcode;
        [FieldOffset(1)] public byte flags;
        [FieldOffset(2)] public ushort ioprio;
        [FieldOffset(4)] public int fd;
        [FieldOffset(8)] public ulong off;
        [FieldOffset(8)] public ulong addr2;
        [FieldOffset(16)] public ulong addr;
        [FieldOffset(24)] public uint len;
        [FieldOffset(28)] public int rw_flags;
        [FieldOffset(28)] public uint fsync_flags;
        [FieldOffset(28)] public ushort poll_events;
        [FieldOffset(28)] public uint poll32_events;
        [FieldOffset(28)] public uint cancel_flags;
        [FieldOffset(28)] public uint nop_flags;
        [FieldOffset(32)] public ulong user_data;
        [FieldOffset(40)] public ushort buf_index;
        [FieldOffset(42)] public ushort personality;
        [FieldOffset(44)] public int splice_fd_in;
        [FieldOffset(44)] public uint file_index;
        [FieldOffset(48)] public ulong addr3;
        [FieldOffset(56)] public ulong __pad2;
    }

    /// <summary>struct io_uring_cqe (16 bytes, without IORING_SETUP_CQE32): one completion queue entry.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct io_uring_cqe
    {
        public ulong user_data;
        public int res;
        public uint flags;
    }

    /// <summary>struct io_sqring_offsets (40 bytes): where the SQ ring's fields sit in its mapping.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct io_sqring_offsets
    {
        public uint head;
        public uint tail;
        public uint ring_mask;
        public uint ring_entries;
        public uint flags;
        public uint dropped;
        public uint array;
        public uint resv1;
        public ulong user_addr;
    }

    /// <summary>struct io_cqring_offsets (40 bytes): where the CQ ring's fields sit in its mapping.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct io_cqring_offsets
    {
        public uint head;
        public uint tail;
        public uint ring_mask;
        public uint ring_entries;
        public uint overflow;
        public uint cqes;
        public uint flags;
        public uint resv1;
        public ulong user_addr;
    }

    /// <summary>struct io_uring_params (120 bytes): passed to io_uring_setup and copied back filled in.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct io_uring_params
    {
        public uint sq_entries;
        public uint cq_entries;
        public uint flags;
        public uint sq_thread_cpu;
        public uint sq_thread_idle;
        public uint features;
        public uint wq_fd;
        public fixed uint resv[3];
        public io_sqring_offsets sq_off;
        public io_cqring_offsets cq_off;
    }

    /// <summary>struct io_uring_probe_op (8 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct io_uring_probe_op
    {
        public byte op;
        public byte resv;
        public ushort flags;
        public uint resv2;
    }

    /// <summary>struct io_uring_probe (16 bytes, followed by ops_len io_uring_probe_op entries).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct io_uring_probe
    {
        public byte last_op;
        public byte ops_len;
        public ushort resv;
        public fixed uint resv2[3];
    }

    // sqe->flags
    internal const byte IOSQE_FIXED_FILE = 1 << 0;
    internal const byte IOSQE_IO_DRAIN = 1 << 1;
    internal const byte IOSQE_IO_LINK = 1 << 2;
    internal const byte IOSQE_IO_HARDLINK = 1 << 3;
    internal const byte IOSQE_ASYNC = 1 << 4;
    internal const byte IOSQE_BUFFER_SELECT = 1 << 5;
    internal const byte IOSQE_CQE_SKIP_SUCCESS = 1 << 6;

    // io_uring_setup() flags
    internal const uint IORING_SETUP_IOPOLL = 1u << 0;
    internal const uint IORING_SETUP_SQPOLL = 1u << 1;
    internal const uint IORING_SETUP_SQ_AFF = 1u << 2;
    internal const uint IORING_SETUP_CQSIZE = 1u << 3;
    internal const uint IORING_SETUP_CLAMP = 1u << 4;
    internal const uint IORING_SETUP_ATTACH_WQ = 1u << 5;
    internal const uint IORING_SETUP_R_DISABLED = 1u << 6;
    internal const uint IORING_SETUP_SUBMIT_ALL = 1u << 7;
    internal const uint IORING_SETUP_COOP_TASKRUN = 1u << 8;
    internal const uint IORING_SETUP_TASKRUN_FLAG = 1u << 9;
    internal const uint IORING_SETUP_SQE128 = 1u << 10;
    internal const uint IORING_SETUP_CQE32 = 1u << 11;
    internal const uint IORING_SETUP_SINGLE_ISSUER = 1u << 12;
    internal const uint IORING_SETUP_DEFER_TASKRUN = 1u << 13;
    internal const uint IORING_SETUP_NO_MMAP = 1u << 14;
    internal const uint IORING_SETUP_REGISTERED_FD_ONLY = 1u << 15;
    internal const uint IORING_SETUP_NO_SQARRAY = 1u << 16;

    // enum io_uring_op (the ones Kaio issues or probes for)
    internal const byte IORING_OP_NOP = 0;
    internal const byte IORING_OP_READV = 1;
    internal const byte IORING_OP_WRITEV = 2;
    internal const byte IORING_OP_FSYNC = 3;
    internal const byte IORING_OP_READ_FIXED = 4;
    internal const byte IORING_OP_WRITE_FIXED = 5;
    internal const byte IORING_OP_POLL_ADD = 6;
    internal const byte IORING_OP_POLL_REMOVE = 7;
    internal const byte IORING_OP_ASYNC_CANCEL = 14;
    internal const byte IORING_OP_FALLOCATE = 17;
    internal const byte IORING_OP_READ = 22;
    internal const byte IORING_OP_WRITE = 23;

    // sqe->fsync_flags
    internal const uint IORING_FSYNC_DATASYNC = 1u << 0;

    // ASYNC_CANCEL flags (sqe->cancel_flags)
    internal const uint IORING_ASYNC_CANCEL_ALL = 1u << 0;
    internal const uint IORING_ASYNC_CANCEL_FD = 1u << 1;
    internal const uint IORING_ASYNC_CANCEL_ANY = 1u << 2;
    internal const uint IORING_ASYNC_CANCEL_FD_FIXED = 1u << 3;
    internal const uint IORING_ASYNC_CANCEL_USERDATA = 1u << 4;
    internal const uint IORING_ASYNC_CANCEL_OP = 1u << 5;

    // cqe->flags
    internal const uint IORING_CQE_F_BUFFER = 1u << 0;
    internal const uint IORING_CQE_F_MORE = 1u << 1;
    internal const uint IORING_CQE_F_SOCK_NONEMPTY = 1u << 2;
    internal const uint IORING_CQE_F_NOTIF = 1u << 3;

    // Magic offsets for mmap
    internal const long IORING_OFF_SQ_RING = 0L;
    internal const long IORING_OFF_CQ_RING = 0x8000000L;
    internal const long IORING_OFF_SQES = 0x10000000L;

    // sq_ring->flags
    internal const uint IORING_SQ_NEED_WAKEUP = 1u << 0;
    internal const uint IORING_SQ_CQ_OVERFLOW = 1u << 1;
    internal const uint IORING_SQ_TASKRUN = 1u << 2;

    // cq_ring->flags
    internal const uint IORING_CQ_EVENTFD_DISABLED = 1u << 0;

    /// <summary>struct io_uring_getevents_arg (24 bytes): io_uring_enter's argument with IORING_ENTER_EXT_ARG.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct io_uring_getevents_arg
    {
        public ulong sigmask;
        public uint sigmask_sz;
        public uint pad;
        public ulong ts;
    }

    // io_uring_enter(2) flags
    internal const uint IORING_ENTER_GETEVENTS = 1u << 0;
    internal const uint IORING_ENTER_SQ_WAKEUP = 1u << 1;
    internal const uint IORING_ENTER_SQ_WAIT = 1u << 2;
    internal const uint IORING_ENTER_EXT_ARG = 1u << 3;

    // io_uring_params->features
    internal const uint IORING_FEAT_SINGLE_MMAP = 1u << 0;
    internal const uint IORING_FEAT_NODROP = 1u << 1;
    internal const uint IORING_FEAT_SUBMIT_STABLE = 1u << 2;
    internal const uint IORING_FEAT_RW_CUR_POS = 1u << 3;
    internal const uint IORING_FEAT_CUR_PERSONALITY = 1u << 4;
    internal const uint IORING_FEAT_FAST_POLL = 1u << 5;
    internal const uint IORING_FEAT_POLL_32BITS = 1u << 6;
    internal const uint IORING_FEAT_SQPOLL_NONFIXED = 1u << 7;
    internal const uint IORING_FEAT_EXT_ARG = 1u << 8;
    internal const uint IORING_FEAT_NATIVE_WORKERS = 1u << 9;

    // enum io_uring_register_op (the ones Kaio uses)
    internal const uint IORING_REGISTER_BUFFERS = 0;
    internal const uint IORING_UNREGISTER_BUFFERS = 1;
    internal const uint IORING_REGISTER_FILES = 2;
    internal const uint IORING_UNREGISTER_FILES = 3;
    internal const uint IORING_REGISTER_EVENTFD = 4;
    internal const uint IORING_UNREGISTER_EVENTFD = 5;
    internal const uint IORING_REGISTER_PROBE = 8;

    // io_uring_probe_op->flags
    internal const ushort IO_URING_OP_SUPPORTED = 1 << 0;
}
