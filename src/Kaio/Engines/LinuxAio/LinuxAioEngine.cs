// Design: the Linux native AIO engine — the kernel's own fs/aio.c behind Kaio's core. Each
// request becomes the struct iocb at its tag in a native array (aio_data = the slot's key); a
// batch is one io_submit in Flush; completions are read straight from the kernel's event ring
// (struct aio_ring, mapped into the process at the context id's address), the way fio's
// userspace_reap does, so reaping costs no system call; an eventfd (IOCB_FLAG_RESFD) wakes the
// reaper thread when nobody else reaps.
//
// It is asynchronous only for O_DIRECT files. On a buffered file io_submit does the whole read
// or write before it returns (the kernel's aio_read() calls ->read_iter, which completes
// synchronously for the page cache or blocks on the disk); InlineCompletions counts requests
// whose event was already in the ring when io_submit returned.
//
// Quiet requests: a read or write on a file not opened O_DIRECT completes inside io_submit, so
// Flush reaps it itself right after, and it is submitted without IOCB_FLAG_RESFD: the eventfd
// signal would only wake the reaper for an event the submitter takes anyway. Measured on this
// VM (4 KiB cached random reads, QD32, one thread, through AioContext): 2.5-2.7 µs of CPU per
// read with the eventfd on every request, 1.1-1.3 µs without. Should a quiet request not complete
// inside io_submit after all (O_DIRECT switched on with fcntl(F_SETFL) after the file mode was
// cached), Flush sees it still pending and kicks the reaper, which then polls the ring every
// QuietPollMs until no quiet request is left: late, never lost.
//
// Streams — pipes, FIFOs, sockets, character devices (slot.IsStream) — are not given to the
// kernel's AIO for reads and writes: io_submit runs ->read_iter/->write_iter synchronously, and
// on a stream that waits for a peer (an empty pipe, a full one, a quiet socket) io_submit itself
// waits, for ever, where no cancel can reach it. They go to an inner ThreadPoolEngine, created
// on the first such request, with this engine's completer: it waits for the peer on a worker, in
// a poll that Cancel interrupts, and answers the offset and NoWait as the kernel does. Poll stays
// on the kernel's AIO, where aio_poll() only arms a wait queue. A routed slot belongs to the inner
// engine alone: this engine never stamps its _states entry, and the inner one keeps its per-request
// state in its own array indexed by tag. Whether a slot is routed is read from its request
// (IsRouted), so Cancel forwards the callback the inner engine registered.
//
// Fallocate goes to the same inner engine: the kernel's AIO has no command for it (io_submit
// answers an unknown aio_lio_opcode with EINVAL), and a blocking fallocate(2) on a worker is what
// io_uring does with IORING_OP_FALLOCATE too (always punted to io-wq). Queued, it is cancelled at
// dequeue; started, it runs to its end, as on every engine.
//
// Threading contract:
//  - Submit (many threads) fills the iocb at the slot's tag and queues the tag, under _submitLock.
//  - Flush (many threads) takes queued tags in chunks under _submitLock and calls io_submit
//    outside it. Each request's _states[tag] follows Queued → Submitting → InKernel (or Failed).
//  - Cancel (the core's cancel callback): a request still Queued is marked CancelledQueued and
//    completed by Flush with -ECANCELED instead of being submitted (it had not started, so it is
//    cancelled for sure). A Poll in the kernel gets io_cancel; its event then arrives with
//    res 0 and is reported as -ECANCELED. Reads and writes cannot be stopped by the kernel's
//    AIO (io_cancel answers EINVAL): they finish with their real result.
//  - The event ring is consumed by one thread at a time under _reapLock: the reaper thread
//    blocking, TryReap (the caller's GetEvents) only trying.
//  - Dispose (teardown, after every request completed): stop the reaper, io_destroy, close the
//    eventfd, free the iocb array, dispose the inner thread-pool engine.
// fs/aio.c: io_setup(), io_submit_one(), aio_read_events_ring(), io_cancel(), io_destroy().
using System.Diagnostics;
using System.Runtime.InteropServices;
using Kaio.Core;
using Kaio.Engines.ThreadPool;
using Microsoft.Win32.SafeHandles;

namespace Kaio.Engines.LinuxAio;

internal sealed unsafe partial class LinuxAioEngine : AioEngine, IThreadPoolWorkItem
{
    // _states[slot.Tag] while the request belongs to this engine: the request's generation (low 28
    // bits) << 4 | one of these states, so that a late write meant for a finished request can
    // never land on the next request in the same slot (every change is a CAS on the stamped value,
    // or happens under _submitLock while the request is known to be Queued).
    private const int StateMask = 0xF;
    private const int Queued = 0;
    private const int Submitting = 1;
    private const int InKernel = 2;
    private const int CancelledQueued = 3;
    private const int CancelIssued = 4;
    private const int Failed = 5;

    private const int SubmitChunk = 128;
    private const int ReapBatch = 64;
    private const int QuietPollMs = 10;

    private readonly ulong _ctx;                  // aio_context_t: also the address of the kernel's aio_ring
    private readonly Interop.aio_ring* _ring;     // null when the ring is not one we can read (then io_getevents)
    private readonly Interop.io_event* _events;   // the ring's event array
    private readonly Interop.iocb* _iocbs;        // one per tag; NativeMemory.AlignedAlloc, freed in Dispose
    private readonly RequestSlot?[] _slots;       // tag → slot; written by Submit before the tag is queued
    private readonly int[] _states;               // tag → the request's stamped state (see StateMask); this engine's own scratch
    private readonly int _capacity;
    private readonly SafeFileHandle _eventFd;
    private readonly int _eventFdNumber;

    // ---- Submission queue (tags waiting for io_submit): guarded by _submitLock. ----
    private readonly Lock _submitLock = new();
    private readonly int[] _queue;
    private int _queueHead;
    private int _queueCount;

    // ---- Reaping: the ring head and dispatch loop are guarded by _reapLock. ----
    private readonly Lock _reapLock = new();
    private readonly ReaperThread _reaper;

    // ---- Quiet requests (no IOCB_FLAG_RESFD): see the Design comment. ----
    private readonly int[] _quietStamps;          // tag → 1 | generation << 1 while a quiet request is in flight, else 0
    private int _quietInFlight;                   // Interlocked: Submit +1, Finish -1; read by the reaper

    // ---- Hosted requests, streams and Fallocate (see the Design comment): created once under _hostedLock, read with Volatile. ----
    private readonly Lock _hostedLock = new();
    private ThreadPoolEngine? _hosted;

    // ---- Awaiters' poller (see FlushAwaited and Execute). ----
    private int _signalledInFlight;               // requests with IOCB_FLAG_RESFD accepted and not yet ended: Interlocked (Submit +1, EndOf -1)
    private int _flushQueued;                     // 1 while the work item is queued and has not begun: Interlocked
    private readonly WorkItemDrain _drain = new(); // the work items against Dispose
    private readonly PollerRole _poller = new();  // which work item polls; the reaper watches it for a stall
    private readonly object _parkLock = new();    // Monitor: the reaper waits on it while a poller polls (Lock has no condition variable)
    private int _parked;                          // ParkedWatching or ParkedIdle while the reaper waits on _parkLock: Interlocked/Volatile

    [ThreadStatic]
    private static LinuxAioEngine? s_flushing;    // the engine whose work item runs on this thread (its continuations run inline)

    private long _inlineCompletions;              // Interlocked by Flush; diagnostics
    private long _reaperWakeups;                  // written by the reaper only; diagnostics
    private long _submitCalls;                    // Interlocked by Flush; diagnostics

    /// <summary>io_setup for <paramref name="capacity"/> requests in flight.</summary>
    /// <exception cref="AioException">
    /// Linux AIO cannot work here (the message says why); EAGAIN when io_setup is refused because
    /// the system-wide <c>fs.aio-max-nr</c> would be exceeded.
    /// </exception>
    public LinuxAioEngine(IRequestCompleter completer, int capacity)
        : base(completer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (!TryProbe(out string reason))
        {
            throw new AioException(s_probe.Value.Errno, reason);
        }

        _capacity = capacity;
        _slots = new RequestSlot?[capacity];
        _states = new int[capacity];
        _queue = new int[capacity];
        _quietStamps = new int[capacity];
        _asyncTags = new byte[capacity];

        ulong ctx = 0;
        if (Interop.io_setup((uint)capacity, &ctx) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new AioException(errno, errno == Errno.EAGAIN
                ? "io_setup: refused, the system-wide limit fs.aio-max-nr (" + ReadSysctl("/proc/sys/fs/aio-max-nr")
                    + ") would be exceeded (fs.aio-nr = " + ReadSysctl("/proc/sys/fs/aio-nr") + ")"
                : "io_setup failed");
        }

        _ctx = ctx;
        int efd = -1;
        try
        {
            // Non-blocking: the reaper and a poller both poll it and read it, and the one that
            // reads second must find 0 (EAGAIN), not wait for the next completion.
            efd = Interop.eventfd(0, Interop.EFD_CLOEXEC | Interop.EFD_NONBLOCK);
            if (efd < 0)
            {
                throw new AioException(Marshal.GetLastPInvokeError(), "eventfd failed");
            }

            _eventFd = new SafeFileHandle(efd, ownsHandle: true);
            _eventFdNumber = efd;

            var ring = (Interop.aio_ring*)ctx;
            if (ring->magic == Interop.AIO_RING_MAGIC && ring->incompat_features == Interop.AIO_RING_INCOMPAT_FEATURES
                && ring->header_length == sizeof(Interop.aio_ring))
            {
                _ring = ring;
                _events = (Interop.io_event*)((byte*)ring + sizeof(Interop.aio_ring));
            }

            // One iocb per tag, and the wake request's past them (LinuxAioEngine.CallerWait.cs).
            _iocbs = (Interop.iocb*)NativeMemory.AlignedAlloc((nuint)(capacity + 1) * (nuint)sizeof(Interop.iocb), 64);
            new Span<byte>(_iocbs, (capacity + 1) * sizeof(Interop.iocb)).Clear();
            _wakeFd = CreateWake(out _callerWaits);

            _reaper = new ReaperThread("Kaio Linux AIO reaper", ReaperLoop);
            _reaper.Start();
        }
        catch
        {
            NativeMemory.AlignedFree(_iocbs);
            _wakeFd?.Dispose();
            if (_eventFd is not null)
            {
                _eventFd.Dispose();
            }
            else if (efd >= 0)
            {
                _ = Interop.close(efd);
            }

            _ = Interop.io_destroy(ctx);
            throw;
        }
    }

    public override AioEngineKind Kind => AioEngineKind.LinuxAio;

    public override bool ReadsCachedInline => true;

    /// <summary>
    /// RWF_DSYNC/RWF_SYNC travel in aio_rw_flags and the kernel makes the write durable before it
    /// completes. Reads and writes in flight cannot be cancelled (only Poll can), except on
    /// streams, which the inner thread-pool engine runs.
    /// </summary>
    /// <remarks>
    /// WaitOnCaller: GetEvents callers wait in io_getevents themselves (LinuxAioEngine.CallerWait.cs),
    /// where the kernel supports the wake request (IOCB_CMD_POLL); else the reaper delivers and
    /// the core's Monitor wakes them.
    /// </remarks>
    public override EngineFeatures Features
        => EngineFeatures.RealIo | EngineFeatures.NativeSyncFlags | EngineFeatures.ReapOnCaller
            | (_callerWaits ? EngineFeatures.WaitOnCaller : EngineFeatures.None);

    /// <summary>Requests whose event was already in the ring when io_submit returned: io_submit did the I/O (buffered files).</summary>
    internal long InlineCompletions => Interlocked.Read(ref _inlineCompletions);

    /// <summary>How many times the reaper thread came back from waiting on the eventfd (diagnostics).</summary>
    internal long ReaperWakeups => Volatile.Read(ref _reaperWakeups); // acquire: pairs with the release in ReaperLoop

    /// <summary>io_submit calls made.</summary>
    internal long SubmitCalls => Interlocked.Read(ref _submitCalls);

    /// <summary>The iocb last built for each tag, as io_submit was given it (tests check the flags).</summary>
    internal Interop.iocb[] IocbsForTests() => new ReadOnlySpan<Interop.iocb>(_iocbs, _capacity).ToArray();

    /// <summary>True when completions are read from the mapped event ring (no system call per reap).</summary>
    internal bool ReapsInUserSpace => _ring != null;

    public override int Submit(RequestSlot slot)
    {
        int tag = slot.Tag;
        if ((uint)tag >= (uint)_capacity)
        {
            return -Errno.EINVAL;
        }

        if (IsRouted(slot))
        {
            return Hosted().Submit(slot);
        }

        Interop.iocb* cb = &_iocbs[tag];
        *cb = default;
        cb->aio_data = slot.Key;
        cb->aio_fildes = (uint)slot.Fd;
        if (slot.Priority != 0)
        {
            cb->aio_flags |= Interop.IOCB_FLAG_IOPRIO;
            cb->aio_reqprio = (short)slot.Priority;
        }

        switch (slot.Command)
        {
            case IocbCommand.Pread:
            case IocbCommand.Pwrite:
                cb->aio_lio_opcode = slot.Command == IocbCommand.Pread ? Interop.IOCB_CMD_PREAD : Interop.IOCB_CMD_PWRITE;
                cb->aio_buf = (ulong)slot.Buffer;
                cb->aio_nbytes = (ulong)slot.Length;
                cb->aio_offset = slot.Offset;
                cb->aio_rw_flags = (int)slot.RwFlags;
                break;
            case IocbCommand.Preadv:
            case IocbCommand.Pwritev:
                cb->aio_lio_opcode = slot.Command == IocbCommand.Preadv ? Interop.IOCB_CMD_PREADV : Interop.IOCB_CMD_PWRITEV;
                cb->aio_buf = (ulong)slot.Iovecs;
                cb->aio_nbytes = (ulong)slot.IovecCount;
                cb->aio_offset = slot.Offset;
                cb->aio_rw_flags = (int)slot.RwFlags;
                break;
            case IocbCommand.Fsync:
                cb->aio_lio_opcode = Interop.IOCB_CMD_FSYNC;
                break;
            case IocbCommand.Fdsync:
                cb->aio_lio_opcode = Interop.IOCB_CMD_FDSYNC;
                break;
            case IocbCommand.Poll:
                cb->aio_lio_opcode = Interop.IOCB_CMD_POLL;
                cb->aio_buf = (ushort)slot.PollEvents; // aio_poll(): the events are in aio_buf
                break;
            default:
                return -Errno.EINVAL;
        }

        bool quiet = slot.Command is IocbCommand.Pread or IocbCommand.Pwrite or IocbCommand.Preadv or IocbCommand.Pwritev
            && !slot.IsDirect; // O_DIRECT as the core learned it at submit (one cache of handle facts)
        if (quiet)
        {
            // Release: published before the tag is queued; read by Flush's check and by Finish.
            Volatile.Write(ref _quietStamps[tag], QuietStamp(slot.Key));
            // Pairs with the reaper's read when it chooses how to wait, and Finish's decrement.
            Interlocked.Increment(ref _quietInFlight);
        }
        else
        {
            cb->aio_flags |= Interop.IOCB_FLAG_RESFD; // |=: IOCB_FLAG_IOPRIO may be set
            cb->aio_resfd = (uint)_eventFdNumber;
            // Pairs with the poller's read in MayKeepPolling; ended in EndOf.
            Interlocked.Increment(ref _signalledInFlight);

            // Nobody may ever reap it on a caller's thread: the reaper must be up (see MayParkIdle).
            bool needsAsync = !_callerWaits || slot.IsAwaitable || slot.Callback is not null || slot.EventFdRef is not null;
            _asyncTags[tag] = needsAsync ? (byte)1 : (byte)0;
            if (needsAsync)
            {
                Interlocked.Increment(ref _asyncInFlight); // full fence before reading _parked: pairs with ParkIdle
                UnparkForAsync();
            }
        }

        CancelRegistration registration;
        lock (_submitLock)
        {
            _slots[tag] = slot;
            _states[slot.Tag] = Stamp(slot, Queued);
            // Under the lock, before the tag is queued: a cancel asked from another thread from
            // now on waits for the lock in Cancel() and finds the request Queued. One asked before
            // only marked it (CancelAsked): it is never queued, and completes below.
            registration = slot.TrySetCancelCallback();
            Debug.Assert(registration != CancelRegistration.Completed, "it is not queued yet");
            if (registration == CancelRegistration.Registered)
            {
                Debug.Assert(_queueCount < _queue.Length);
                _queue[(_queueHead + _queueCount) % _queue.Length] = tag;
                _queueCount++;
            }
        }

        if (registration == CancelRegistration.CancelAsked)
        {
            Finish(tag, slot.Key, -Errno.ECANCELED, 0); // never reached the kernel: cancelled for sure
        }

        return 0;
    }

    public override void Flush() => SubmitQueued(reap: true);

    /// <summary>
    /// io_submit for every queued request, in chunks. With <paramref name="reap"/>, what completed
    /// inside io_submit is reaped and delivered here (not inline); without, the caller reaps it
    /// (the poller, one event at a time with its continuation inline).
    /// </summary>
    private void SubmitQueued(bool reap)
    {
        Interop.iocb** batch = stackalloc Interop.iocb*[SubmitChunk];
        int* tags = stackalloc int[SubmitChunk];
        int* stamps = stackalloc int[SubmitChunk];
        while (true)
        {
            int n = 0;
            int cancelled = 0;
            lock (_submitLock)
            {
                while (_queueCount > 0 && n + cancelled < SubmitChunk)
                {
                    int tag = _queue[_queueHead];
                    _queueHead = (_queueHead + 1) % _queue.Length;
                    _queueCount--;
                    RequestSlot slot = _slots[tag]!;
                    if ((_states[slot.Tag] & StateMask) == CancelledQueued)
                    {
                        // Completed below, outside the lock, after the ones to submit.
                        tags[SubmitChunk - 1 - cancelled++] = tag;
                        continue;
                    }

                    _states[slot.Tag] = stamps[n] = Stamp(slot, Submitting);
                    tags[n] = tag;
                    batch[n++] = &_iocbs[tag];
                }
            }

            if (n == 0 && cancelled == 0)
            {
                return;
            }

            if (n > 0)
            {
                SubmitBatch(batch, tags, stamps, n);
                // A buffered request completed inside io_submit: its event is in the ring
                // already. Reap it here, on the thread that will want it, rather than have the
                // reaper deliver it while the submitter sleeps and is woken in turn.
                if (reap)
                {
                    _ = TryReap();
                }

                CheckQuiet(tags, n); // without the reap, a quiet request of the batch kicks the reaper: late, never lost
            }

            for (int i = 0; i < cancelled; i++)
            {
                // Never reached the kernel: the cancel wins for sure.
                int tag = tags[SubmitChunk - 1 - i];
                Finish(tag, _slots[tag]!.Key, -Errno.ECANCELED, 0);
            }
        }
    }

    /// <summary>
    /// After Flush reaped: a quiet request of this batch still in flight did not complete inside
    /// io_submit, and no eventfd will announce it. Kick the reaper, which then polls for it.
    /// </summary>
    private void CheckQuiet(int* tags, int n)
    {
        for (int i = 0; i < n; i++)
        {
            RequestSlot slot = _slots[tags[i]]!;
            // Acquire: pairs with the release in Submit and in Finish. A stamp left by a newer
            // request in the same tag only causes a spurious kick.
            int stamp = Volatile.Read(ref _quietStamps[tags[i]]);
            if (stamp != 0 && stamp == QuietStamp(slot.Key))
            {
                Kick();
                return;
            }
        }
    }

    private void Kick()
    {
        long one = 1;
        _ = Interop.write(_eventFdNumber, &one, sizeof(long));
        // The reaper may rest (MayParkIdle reads _quietInFlight, raised before this): wake it to
        // poll for the quiet request that went asynchronous. The write's system call is a full fence.
        if (Volatile.Read(ref _parked) == ParkedIdle)
        {
            UnparkReaper();
        }
    }

    private static int QuietStamp(ulong key) => (int)(RequestKey.GenerationOf(key) << 1) | 1;

    /// <summary>Reports a request's end, after EndOf (the tag may be reused as soon as Complete returns). Holds no engine lock.</summary>
    private void Finish(int tag, ulong key, long res, long res2)
    {
        EndOf(tag, key);
        Debug.Assert(!HoldsLockOnCurrentThread, "delivery under an engine lock");
        Completer.Complete(key, res, res2);
    }

    /// <summary>
    /// Uncounts a request of this engine's own (not a routed one) at its one end, before its
    /// delivery: a quiet one loses its mark, a signalled one leaves _signalledInFlight.
    /// </summary>
    private void EndOf(int tag, ulong key)
    {
        if (Volatile.Read(ref _quietStamps[tag]) == QuietStamp(key)) // acquire: pairs with the release in Submit
        {
            Volatile.Write(ref _quietStamps[tag], 0); // release: pairs with the acquire in CheckQuiet
            // Pairs with the Interlocked.Increment in Submit.
            Interlocked.Decrement(ref _quietInFlight);
        }
        else
        {
            // Pairs with the Interlocked.Increment in Submit.
            Interlocked.Decrement(ref _signalledInFlight);
            if (_asyncTags[tag] != 0)
            {
                _asyncTags[tag] = 0;
                Interlocked.Decrement(ref _asyncInFlight); // pairs with the increment in Submit
            }
        }
    }

    internal override bool HoldsLockOnCurrentThread => _submitLock.IsHeldByCurrentThread || _reapLock.IsHeldByCurrentThread;

    /// <summary>io_submit for <paramref name="n"/> iocbs; a refused iocb completes with the refusal's errno.</summary>
    private void SubmitBatch(Interop.iocb** batch, int* tags, int* stamps, int n)
    {
        int done = 0;
        int again = 0;
        while (done < n)
        {
            uint tailBefore = _ring != null ? Volatile.Read(ref _ring->tail) : 0; // acquire: as in ReapLocked
            long ret = Interop.io_submit(_ctx, n - done, batch + done);
            // Pairs with nothing: a diagnostics counter read with Interlocked.Read.
            Interlocked.Increment(ref _submitCalls);
            if (ret > 0)
            {
                if (_ring != null)
                {
                    uint tailAfter = Volatile.Read(ref _ring->tail); // acquire: as in ReapLocked
                    uint completed = (tailAfter + _ring->nr - tailBefore) % _ring->nr;
                    // Diagnostics counter, read with Interlocked.Read.
                    Interlocked.Add(ref _inlineCompletions, Math.Min(completed, (uint)ret));
                }

                for (long i = 0; i < ret; i++)
                {
                    // Submitting → InKernel only for the request we submitted: if it already
                    // completed and its slot was reused, the state belongs to the next request
                    // and keeps its value. Full fence: pairs with the acquire spin in Cancel.
                    RequestSlot submitted = _slots[tags[done + i]]!;
                    int submitting = stamps[done + i];
                    _ = Interlocked.CompareExchange(ref _states[submitted.Tag], (submitting & ~StateMask) | InKernel, submitting);
                }

                done += (int)ret;
                continue;
            }

            int errno = ret == 0 ? Errno.EAGAIN : Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (errno == Errno.EAGAIN && again++ < 100)
            {
                // The kernel is short of request slots: events we have not reaped yet still hold
                // them (refill_reqs_available). Reap, then retry.
                _ = TryReap();
                Thread.Yield();
                continue;
            }

            // io_submit_one() refused the first iocb of the rest (EBADF, EINVAL, EOPNOTSUPP...):
            // the kernel never took it, so it completes here with that errno, and the batch goes on.
            RequestSlot slot = _slots[tags[done]]!;
            // Release: pairs with the acquire spin in Cancel, which must stop waiting for io_submit
            // before Complete can finish (Complete waits for a running cancel callback).
            Volatile.Write(ref _states[slot.Tag], (stamps[done] & ~StateMask) | Failed);
            Finish(tags[done], slot.Key, -errno, 0);
            done++;
            again = 0;
        }
    }

    private static int Stamp(RequestSlot slot, int state) => (int)(RequestKey.GenerationOf(slot.Key) << 4) | state;

    /// <summary>
    /// A read or write on a stream, or a Fallocate: run by the inner thread-pool engine, never by
    /// io_submit (see the Design comment).
    /// </summary>
    private static bool IsRouted(RequestSlot slot)
        => slot.Command == IocbCommand.Fallocate
            || (slot.IsStream && slot.Command is IocbCommand.Pread or IocbCommand.Pwrite or IocbCommand.Preadv or IocbCommand.Pwritev);

    /// <summary>The inner engine for streams and Fallocate, created by the first request that needs it.</summary>
    private ThreadPoolEngine Hosted()
    {
        // Acquire: pairs with the release below; the engine is fully built before it is seen.
        ThreadPoolEngine? hosted = Volatile.Read(ref _hosted);
        if (hosted is not null)
        {
            return hosted;
        }

        lock (_hostedLock)
        {
            // Workers start with requests, so the engine costs no thread until one is routed.
            hosted = _hosted ?? new ThreadPoolEngine(Completer, _capacity, maxWorkers: 0);
            Volatile.Write(ref _hosted, hosted); // release: pairs with the acquire above
            return hosted;
        }
    }

    public override void Cancel(RequestSlot slot)
    {
        if (IsRouted(slot))
        {
            // Submitted there, so the inner engine exists; it registered this callback.
            Volatile.Read(ref _hosted)!.Cancel(slot);
            return;
        }

        lock (_submitLock)
        {
            if ((_states[slot.Tag] & StateMask) == Queued)
            {
                _states[slot.Tag] = Stamp(slot, CancelledQueued); // Flush completes it with -ECANCELED
                return;
            }
        }

        if (slot.Command != IocbCommand.Poll)
        {
            return; // reads, writes and syncs in the kernel cannot be stopped: they finish with their real result
        }

        // io_submit of this poll may be in progress on another thread (a poll's io_submit does
        // not block: aio_poll() only arms a wait queue); wait for it to end so that io_cancel
        // finds the request. The request cannot complete meanwhile: the core holds it in
        // Cancelling until this callback returns.
        SpinWait spin = default;
        int inKernel = Stamp(slot, InKernel);
        int state;
        while ((state = Volatile.Read(ref _states[slot.Tag])) == Stamp(slot, Submitting)) // acquire: pairs with SubmitBatch's CAS
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        if (state != inKernel)
        {
            return;
        }

        // Marked before io_cancel: the kernel may post the cancelled poll's event (res 0, the
        // mangle_poll of no events) and the reaper read it before io_cancel even returns. A poll
        // that completes on its own carries its non-zero revents, so the mark changes nothing
        // for it, whether or not io_cancel found it. Release: pairs with the acquire in Reaped.
        Volatile.Write(ref _states[slot.Tag], Stamp(slot, CancelIssued));
        Interop.io_event result;
        _ = Interop.io_cancel(_ctx, &_iocbs[slot.Tag], &result); // -EINPROGRESS: started; -EINVAL: already done
    }

    public override bool TryReap()
    {
        Span<Completion> batch = stackalloc Completion[ReapBatch];
        bool any = false;
        while (true)
        {
            // Acquire: pairs with the kernel's smp_wmb() before ring->tail = tail in aio_complete().
            if (_ring != null && Volatile.Read(ref _ring->tail) == Volatile.Read(ref _ring->head))
            {
                return any;
            }

            if (!_reapLock.TryEnter())
            {
                return any;
            }

            int n;
            try
            {
                n = ReapLocked(batch);
            }
            finally
            {
                _reapLock.Exit();
            }

            Deliver(batch[..n]); // the one-way contract: no engine lock is held from here on
            any |= n != 0;
            if (n < batch.Length)
            {
                return any;
            }
        }
    }

    /// <summary>
    /// Takes up to <paramref name="into"/>.Length events off the ring and returns how many; the
    /// caller, holding _reapLock, releases it and only then delivers them.
    /// </summary>
    private int ReapLocked(Span<Completion> into)
    {
        Debug.Assert(_reapLock.IsHeldByCurrentThread);
        if (_ring == null)
        {
            return ReapWithGetEvents(into);
        }

        int n = 0;
        uint nr = _ring->nr;
        uint head = _ring->head; // ours: only the holder of _reapLock writes it
        uint tail = Volatile.Read(ref _ring->tail); // acquire: as in TryReap
        while (head != tail && n < into.Length)
        {
            Interop.io_event* ev = &_events[head];
            if (!IsWake(ev->data))
            {
                into[n++] = Reaped(ev->data, ev->res, ev->res2);
            }

            head = head + 1 == nr ? 0 : head + 1;
        }

        // Release: the events above were read before the kernel may reuse their entries
        // (aio_complete checks room against ring->head; refill_reqs_available reads it).
        Volatile.Write(ref _ring->head, head);
        return n;
    }

    private int ReapWithGetEvents(Span<Completion> into)
    {
        Interop.io_event* events = stackalloc Interop.io_event[ReapBatch];
        Interop.timespec zero = default;
        while (true)
        {
            long n = Interop.io_getevents(_ctx, 0, Math.Min(into.Length, ReapBatch), events, &zero);
            if (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR)
            {
                continue;
            }

            int kept = 0;
            for (int i = 0; i < n; i++)
            {
                if (!IsWake(events[i].data))
                {
                    into[kept++] = Reaped(events[i].data, events[i].res, events[i].res2);
                }
            }

            if (kept == 0 && n > 0)
            {
                continue; // only the wake request's event: look for the events behind it
            }

            return kept;
        }
    }

    /// <summary>One event taken off the ring, made ready for delivery (under _reapLock).</summary>
    private Completion Reaped(ulong key, long res, long res2)
    {
        int tag = RequestKey.TagOf(key);
        RequestSlot? slot = (uint)tag < (uint)_slots.Length ? _slots[tag] : null;
        if (slot is null)
        {
            ReaperThread.Fail("Linux AIO event for an unknown tag");
        }

        // A cancelled poll arrives with res 0 (no events); Kaio reports a cancelled request as
        // -ECANCELED. Acquire: pairs with the release in Cancel, made before io_cancel.
        if (res == 0 && slot.Key == key && Volatile.Read(ref _states[slot.Tag]) == Stamp(slot, CancelIssued))
        {
            res = -Errno.ECANCELED;
        }

        EndOf(tag, key); // before delivery: the tag may be reused as soon as it is delivered
        return new Completion(key, res, res2);
    }

    private void ReaperLoop()
    {
        Span<Completion> batch = stackalloc Completion[ReapBatch];
        long counter;
        while (true)
        {
            // Acquire (IsStopping): pairs with Stop() in Dispose.
            if (_poller.Owner != 0 && !_reaper.IsStopping)
            {
                WatchPoller(); // an awaiters' work item reaps meanwhile (LinuxAioEngine.Poller.cs)
                continue;
            }

            int n;
            lock (_reapLock)
            {
                n = ReapLocked(batch);
            }

            Deliver(batch[..n]); // outside _reapLock: the one-way contract
            if (n == batch.Length)
            {
                continue; // the batch was full: there may be more
            }

            // Acquire (IsStopping): pairs with Stop() in Dispose.
            if (_reaper.IsStopping)
            {
                return;
            }

            if (MayParkIdle())
            {
                ParkIdle(); // LinuxAioEngine.CallerWait.cs: callers reap, or nothing needs this thread
                continue;
            }

            // The kernel adds 1 per completed request (IOCB_FLAG_RESFD); the wait ends on a
            // non-zero count and read() resets it, so an event posted after the reap above is not
            // missed. While quiet requests are in flight (no eventfd for them) the wait is bounded
            // so that one that went asynchronous against expectation is still found.
            // Acquire: pairs with the Interlocked.Increment in Submit.
            int timeout = Volatile.Read(ref _quietInFlight) > 0 ? QuietPollMs : -1;
            //
            // A poller that starts while this thread waits here (LinuxAioEngine.Poller.cs) takes
            // its events with io_getevents and leaves the eventfd's count alone, so the first
            // completion wakes this thread anyway, which then watches the poller (the loop's top).
            // A first poller that read the eventfd itself consumed the count for events it had not
            // delivered yet, blocked in a continuation before their turn, and nothing woke this
            // thread for them (the stall test's loop C: 0 reads in 2 s).
            Interop.pollfd pfd = new() { fd = _eventFdNumber, events = 0x1 /* POLLIN */ };
            int ready = Interop.poll(&pfd, 1, timeout);
            Volatile.Write(ref _reaperWakeups, _reaperWakeups + 1); // release: pairs with ReaperWakeups
            if (ready > 0)
            {
                _ = Interop.read(_eventFdNumber, &counter, sizeof(long));
            }
            else if (ready < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    ReaperThread.Fail("Linux AIO reaper poll(eventfd) failed: " + Errno.Name(errno));
                }
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing)
        {
            return;
        }

        Debug.Assert(!_reaper.IsCurrent, "teardown never runs on the reaping thread");

        // No wake request from now on: a delivery still returning may ask for one (PostWake).
        lock (_wakeLock)
        {
            _disposing = true;
        }

        // An awaiters' work item may still be queued or running (it found nothing left to do, or
        // is returning): it must not touch the context once io_destroy ran. Not the one on this
        // thread, if any: a continuation it ran inline is disposing the context, and it touches
        // nothing once it sees IsClosing (see Execute).
        _drain.CloseAndWait(fromInsideOne: s_flushing == this);

        _reaper.Stop(); // pairs with the IsStopping read in ReaperLoop
        Kick();
        UnparkReaper(); // out of WatchPoller, if a poller left the role to nobody
        _reaper.Join();

        // Every request completed, so io_destroy does not wait; after it the kernel holds nothing
        // of ours: the iocbs (copied at io_submit) and the eventfd can go.
        _ = Interop.io_destroy(_ctx);
        _eventFd.Dispose();
        _wakeFd?.Dispose();
        NativeMemory.AlignedFree(_iocbs);

        // Every routed request completed too: its workers are idle and leave.
        Volatile.Read(ref _hosted)?.Dispose();
    }
}
