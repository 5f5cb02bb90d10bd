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
        _states = new int[capacity];
        _queue = new int[capacity];
        _quietStamps = new int[capacity];
        _asyncTags = new byte[capacity];

        ulong ctx = 0;
        int setup = Interop.io_setup((uint)capacity, &ctx);
        if (setup < 0)
        {
            int errno = -setup;
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
                throw new AioException(-Interop.LastRes(), "eventfd failed");
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
