// Design: one io_uring instance — the ring fd and its three mappings (SQ ring, CQ ring, SQE
// array) — with the raw pointers the engine reads and writes. It owns no policy: the engine
// decides who may touch the SQ (under its submit lock) and the CQ (one reaper at a time).
//
// Memory ordering, as liburing and io_uring(7) describe it:
//  - SQ: we fill an SQE, then publish sq.tail with a release store; the kernel loads the tail
//    with acquire (io_sqring_entries) and publishes sq.head as it consumes SQEs.
//  - CQ: the kernel writes a CQE, then publishes cq.tail with a release store; we load the
//    tail with acquire, read the CQEs, then publish cq.head with a release store so the kernel
//    does not reuse a CQE slot we are still reading.
// Field comments name who writes each pointer's target.
using Microsoft.Win32.SafeHandles;

namespace Kaio.Engines.IoUring;

internal sealed unsafe class IoUringRing : IDisposable
{
    private readonly SafeFileHandle _fd;
    private readonly SafeMappedRegionHandle _sqMap;
    private readonly SafeMappedRegionHandle? _cqMap; // null when the kernel maps both rings at once (IORING_FEAT_SINGLE_MMAP)
    private readonly SafeMappedRegionHandle _sqeMap;

    /// <summary>The ring fd, for io_uring_enter and io_uring_register.</summary>
    public readonly int Fd;
    public readonly uint Features;
    public readonly uint SetupFlags;

    // SQ ring.
    public readonly uint* SqHead;        // written by the kernel as it consumes SQEs
    public readonly uint* SqTail;        // written by us (under the engine's submit lock)
    public readonly uint* SqFlags;       // written by the kernel (IORING_SQ_CQ_OVERFLOW, IORING_SQ_TASKRUN)
    public readonly uint SqMask;
    public readonly uint SqEntries;
    public readonly Interop.io_uring_sqe* Sqes;

    // CQ ring.
    public readonly uint* CqHead;        // written by us (by whoever holds the engine's reap lock)
    public readonly uint* CqTail;        // written by the kernel as it posts CQEs
    public readonly uint CqMask;
    public readonly uint CqEntries;
    public readonly Interop.io_uring_cqe* Cqes;

    /// <summary>
    /// io_uring_setup with <paramref name="sqEntries"/>/<paramref name="cqEntries"/> (the kernel
    /// rounds both up to powers of two) and maps the rings. Returns null and a -errno in
    /// <paramref name="res"/> and a description of the failing step in <paramref name="step"/>.
    /// Each of the <paramref name="optional"/> flags is dropped, newest (highest bit) first, while
    /// the kernel refuses the set with EINVAL (older than the flag): IORING_SETUP_SUBMIT_ALL is
    /// Linux 5.18 (without it a failing SQE stops the batch and Flush submits the rest on its next
    /// turn), COOP_TASKRUN and TASKRUN_FLAG 5.19 (without them the kernel interrupts the
    /// submitter, as it always did). <see cref="SetupFlags"/> says what the ring got.
    /// </summary>
    public static IoUringRing? TryCreate(uint sqEntries, uint cqEntries, uint optional, out int res, out string step)
    {
        Interop.io_uring_params p;
        int fd;
        while (true)
        {
            p = default;
            p.flags = optional | Interop.IORING_SETUP_CQSIZE | Interop.IORING_SETUP_CLAMP;
            p.cq_entries = cqEntries;
            fd = Interop.io_uring_setup(sqEntries, &p);
            if (fd != -Errno.EINVAL || optional == 0)
            {
                break;
            }

            optional &= ~(1u << (31 - System.Numerics.BitOperations.LeadingZeroCount(optional)));
        }

        if (fd < 0)
        {
            res = fd;
            step = "io_uring_setup";
            return null;
        }

        var fdHandle = new SafeFileHandle(fd, ownsHandle: true);
        SafeMappedRegionHandle? sqMap = null;
        SafeMappedRegionHandle? cqMap = null;
        SafeMappedRegionHandle? sqeMap = null;
        try
        {
            nuint sqSize = p.sq_off.array + (p.sq_entries * sizeof(uint));
            nuint cqSize = p.cq_off.cqes + (p.cq_entries * (uint)sizeof(Interop.io_uring_cqe));
            bool single = (p.features & Interop.IORING_FEAT_SINGLE_MMAP) != 0;
            if (single)
            {
                sqSize = Math.Max(sqSize, cqSize);
            }

            sqMap = SafeMappedRegionHandle.Map(fd, sqSize, Interop.IORING_OFF_SQ_RING, Interop.MAP_POPULATE, out res);
            step = "mmap(IORING_OFF_SQ_RING)";
            if (!sqMap.IsInvalid && !single)
            {
                cqMap = SafeMappedRegionHandle.Map(fd, cqSize, Interop.IORING_OFF_CQ_RING, Interop.MAP_POPULATE, out res);
                step = "mmap(IORING_OFF_CQ_RING)";
            }

            if (!sqMap.IsInvalid && (cqMap is null || !cqMap.IsInvalid))
            {
                sqeMap = SafeMappedRegionHandle.Map(fd, p.sq_entries * (nuint)sizeof(Interop.io_uring_sqe), Interop.IORING_OFF_SQES, Interop.MAP_POPULATE, out res);
                step = "mmap(IORING_OFF_SQES)";
                if (!sqeMap.IsInvalid)
                {
                    step = string.Empty;
                    return new IoUringRing(fdHandle, sqMap, cqMap, sqeMap, in p);
                }
            }
        }
        catch
        {
            sqeMap?.Dispose();
            cqMap?.Dispose();
            sqMap?.Dispose();
            fdHandle.Dispose();
            throw;
        }

        sqeMap?.Dispose();
        cqMap?.Dispose();
        sqMap?.Dispose();
        fdHandle.Dispose();
        return null;
    }

    private IoUringRing(SafeFileHandle fd, SafeMappedRegionHandle sqMap, SafeMappedRegionHandle? cqMap, SafeMappedRegionHandle sqeMap, in Interop.io_uring_params p)
    {
        _fd = fd;
        _sqMap = sqMap;
        _cqMap = cqMap;
        _sqeMap = sqeMap;
        Fd = (int)fd.DangerousGetHandle();
        Features = p.features;
        SetupFlags = p.flags;
        SqEntries = p.sq_entries;
        CqEntries = p.cq_entries;

        byte* sq = sqMap.Pointer;
        SqHead = (uint*)(sq + p.sq_off.head);
        SqTail = (uint*)(sq + p.sq_off.tail);
        SqFlags = (uint*)(sq + p.sq_off.flags);
        SqMask = *(uint*)(sq + p.sq_off.ring_mask);
        Sqes = (Interop.io_uring_sqe*)sqeMap.Pointer;

        // The SQ index array is an indirection Kaio does not need: entry i always names SQE i,
        // written once here (liburing does the same).
        uint* array = (uint*)(sq + p.sq_off.array);
        for (uint i = 0; i < p.sq_entries; i++)
        {
            array[i] = i;
        }

        byte* cqBase = cqMap is null ? sq : cqMap.Pointer;
        CqHead = (uint*)(cqBase + p.cq_off.head);
        CqTail = (uint*)(cqBase + p.cq_off.tail);
        CqMask = *(uint*)(cqBase + p.cq_off.ring_mask);
        Cqes = (Interop.io_uring_cqe*)(cqBase + p.cq_off.cqes);
    }

    /// <summary>Unmaps the rings, then closes the fd (the kernel then cancels and reaps anything left).</summary>
    public void Dispose()
    {
        _sqeMap.Dispose();
        _cqMap?.Dispose();
        _sqMap.Dispose();
        _fd.Dispose();
    }

    /// <summary>io_uring_register(IORING_REGISTER_PROBE): which opcodes this kernel supports.</summary>
    public int Probe(Span<bool> supported)
    {
        const int MaxOps = 256;
        byte* buffer = stackalloc byte[sizeof(Interop.io_uring_probe) + (MaxOps * sizeof(Interop.io_uring_probe_op))];
        new Span<byte>(buffer, sizeof(Interop.io_uring_probe) + (MaxOps * sizeof(Interop.io_uring_probe_op))).Clear();
        int ret = Interop.io_uring_register(Fd, Interop.IORING_REGISTER_PROBE, buffer, MaxOps);
        if (ret < 0)
        {
            return ret;
        }

        var probe = (Interop.io_uring_probe*)buffer;
        var ops = (Interop.io_uring_probe_op*)(buffer + sizeof(Interop.io_uring_probe));
        supported.Clear();
        for (int i = 0; i < probe->ops_len && i < MaxOps; i++)
        {
            if (ops[i].op < supported.Length && (ops[i].flags & Interop.IO_URING_OP_SUPPORTED) != 0)
            {
                supported[ops[i].op] = true;
            }
        }

        return 0;
    }

}
