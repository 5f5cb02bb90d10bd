// Design: the Linux native AIO ABI, mirrored from include/uapi/linux/aio_abi.h (and the ring
// header fs/aio.c maps into the process, struct aio_ring) with the kernel's spelling. Each
// struct states its size; tests/Kaio.Tests/Interop pins sizes, offsets and constants.
using System.Runtime.InteropServices;

namespace Kaio;

internal static unsafe partial class Interop
{
    internal const ushort IOCB_CMD_PREAD = 0;
    internal const ushort IOCB_CMD_PWRITE = 1;
    internal const ushort IOCB_CMD_FSYNC = 2;
    internal const ushort IOCB_CMD_FDSYNC = 3;
    internal const ushort IOCB_CMD_POLL = 5;
    internal const ushort IOCB_CMD_NOOP = 6;
    internal const ushort IOCB_CMD_PREADV = 7;
    internal const ushort IOCB_CMD_PWRITEV = 8;

    /// <summary>aio_resfd is valid: the kernel signals that eventfd when the request completes.</summary>
    internal const uint IOCB_FLAG_RESFD = 1 << 0;

    /// <summary>aio_reqprio is valid (Linux 4.18).</summary>
    internal const uint IOCB_FLAG_IOPRIO = 1 << 1;

    /// <summary>struct io_event (32 bytes): one completion, as io_getevents returns it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct io_event
    {
        public ulong data;
        public ulong obj;
        public long res;
        public long res2;
    }

    /// <summary>struct iocb (64 bytes), little-endian layout (aio_key before aio_rw_flags).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct iocb
    {
        public ulong aio_data;
        public uint aio_key;
        public int aio_rw_flags;
        public ushort aio_lio_opcode;
        public short aio_reqprio;
        public uint aio_fildes;
        public ulong aio_buf;
        public ulong aio_nbytes;
        public long aio_offset;
        public ulong aio_reserved2;
        public uint aio_flags;
        public uint aio_resfd;
    }

    /// <summary>
    /// struct aio_ring (fs/aio.c; 32-byte header followed by io_event[nr]). The kernel maps it
    /// into the process at the address io_setup returns as the context id; a process may consume
    /// events from it directly (head is ours, tail the kernel's) when magic is AIO_RING_MAGIC and
    /// incompat_features is AIO_RING_INCOMPAT_FEATURES.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct aio_ring
    {
        public uint id;
        public uint nr;
        public uint head;
        public uint tail;
        public uint magic;
        public uint compat_features;
        public uint incompat_features;
        public uint header_length;
    }

    internal const uint AIO_RING_MAGIC = 0xa10a10a1;
    internal const uint AIO_RING_COMPAT_FEATURES = 1;
    internal const uint AIO_RING_INCOMPAT_FEATURES = 0;
}
