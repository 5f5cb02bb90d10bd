// Design: the io_uring engine. Each request becomes one SQE whose user_data is the slot's key;
// each CQE is reported through Completer.Complete(user_data, res, 0) — the kernel's io_uring
// standing in for f_op->read_iter/write_iter in fs/aio.c's aio_read()/aio_write().
//
// Threading contract:
//  - Submit (many threads) fills SQEs under _sqLock and publishes sq.tail; Flush makes one
//    io_uring_enter for everything published (outside the lock: the kernel serialises enters on
//    its own uring_lock, and an enter consumes every SQE visible at that moment, so after any
//    Flush returns, each SQE published before it began has been consumed by some enter).
//  - Cancel (any thread; the core's cancel callback, never called from inside this engine)
//    queues IORING_OP_ASYNC_CANCEL by user_data, under _sqLock, then enters. The cancel's own CQE
//    carries CancelUserData and is ignored. A request the kernel cannot stop (-EALREADY: running
//    in io-wq; -ENOENT: already done) finishes with its real result; either way its one CQE is
//    its one completion. A cancel asked before Submit registered the request never reaches the
//    kernel: Submit drops the SQE it was filling and completes it with -ECANCELED.
//  - CQ consumption is single-consumer at a time, under _cqLock: the reaper thread takes it
//    blocking, TryReap (the caller's GetEvents, and Flush right after its enter) only tries it,
//    so a caller never waits for the reaper. The one-way contract: CQEs are copied into a batch
//    (ReapBatch) under _cqLock, the head is advanced, the lock released, and only then are they
//    delivered (AioEngine.Deliver), so delivery may call back into the engine (WakeWaiters,
//    Submit from a callback) and finds every lock free. Nothing reached from Cancel reaps: the
//    request being cancelled must not be completed on the thread running its cancel callback.
//  - Dispose (teardown, after every request completed): stop the reaper by a NOP with
//    StopUserData, wait until the cancel CQEs still owed have arrived, join, then unmap and close.
//
// Ring sizing: the core keeps at most `capacity` requests in flight and cancels each at most
// once, so at most 2*capacity + 1 (the stop NOP) CQEs can be unreaped at once: the CQ gets that
// many entries, so it cannot overflow (IORING_FEAT_NODROP would keep an overflow in the kernel;
// the reaper's io_uring_enter(GETEVENTS) flushes it should a clamped ring ever need it). The SQ
// gets `capacity` entries; Submit enters on the spot when it finds the SQ full.
//
// Awaiters: an awaited request that is not alone (RequestSlot.MayCompleteInline) submitted on a
// thread-pool thread is only published; one thread-pool work item enters for every awaiter's SQE
// and runs their continuations inline (FlushAwaited, Execute). See FlushAwaited for the numbers.
//
// Wake-up: a reaper thread blocked in io_uring_enter(GETEVENTS, min_complete=1), chosen over an
// eventfd registered with IORING_REGISTER_EVENTFD by measurement; it parks off the CQ while
// nothing is in flight, so CQEs the submitter reaps itself wake nobody (see ReaperLoop).
//
// Task work: the kernel posts a request's CQE from task work on the thread that submitted it. By
// default it interrupts that thread (an IPI) to run it. With AioContextOptions.SubmittersReap the
// ring has COOP_TASKRUN: the CQE waits for the submitter's next kernel entry (a tick at the
// latest), and TASKRUN_FLAG marks sq.flags meanwhile so that a polling TryReap enters to run it.
// The reaper cannot run another thread's task work: with the option, a CQE it waits for appears
// when its submitter next enters (the promise the option makes). O_DIRECT randwrite QD32 from one
// submit-and-reap thread (bench/compare-fio.sh write, medians of 3): 0.70x fio io_uring at 1.42x
// its CPU per write without it, 0.91-0.99x at 1.03-1.16x with it (fio's ring sets it too).
//
// Not used, measured: registered files (IOSQE_FIXED_FILE) save ~8% CPU per cached read at QD32
// (1.14-1.23 -> 0.98-1.08 µs), but a registered file stays open in the kernel after the caller
// closes its handle; doing it right needs the core to tell the engine when a handle goes away.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Kaio.Core;

namespace Kaio.Engines.IoUring;

internal sealed unsafe partial class IoUringEngine : AioEngine, IThreadPoolWorkItem
{
    /// <summary>user_data of ASYNC_CANCEL SQEs (a reserved key: never a request's).</summary>
    internal const ulong CancelUserData = RequestKey.ReservedTop;

    /// <summary>user_data of the NOP that Dispose posts to stop the reaper.</summary>
    internal const ulong StopUserData = RequestKey.ReservedTop - 1;

    /// <summary>user_data of the NOP that WakeWaiters posts to end a caller's wait in the kernel.</summary>
    internal const ulong WakeUserData = RequestKey.ReservedTop - 2;

    // GetEvents callers waiting in WaitForCompletions (announced before they re-check the ring):
    // Interlocked. While any is there the reaper leaves the CQ to them and parks, so that a wake
    // NOP posted for a caller is never consumed by the reaper before the caller's wait began.
    private int _callerWaiters;

    /// <summary>True while this thread reaps right after its own wait in WaitForCompletions.</summary>
    [ThreadStatic]
    private static IoUringEngine? s_reapingForOwnWait; // the engine, not any: a callback run inline may deliver for another context

    private int _wakePending;              // 1 while a wake NOP's CQE is owed: CAS in WakeWaiters, cleared when reaped

    private const int EBUSY = 16;

    /// <summary>CQEs taken per hold of _cqLock before they are delivered with the lock released.</summary>
    private const int ReapBatch = 64;

    private readonly IoUringRing _ring;

    // ---- Submission side: everything below is guarded by _sqLock. ----
    private readonly Lock _sqLock = new();
    private uint _sqTail;                  // our copy of *sq.tail; written under _sqLock
    private bool _disposing;               // under _sqLock: Dispose has begun; WakeWaiters does nothing

    // ---- Completion side: CQ head and the dispatch loop are guarded by _cqLock. ----
    private readonly Lock _cqLock = new();
    private int _cancelsOwed;              // cancel CQEs not yet reaped: Interlocked (Cancel +1, reaper -1)
    private bool _stopSeen;                // reaper only: the stop NOP was reaped

    // ---- The reaper's parking (see ReaperLoop). ----
    // Who needs the reaper (see ReaperLoop). A request needs asynchronous delivery when nobody
    // may ever reap it on a caller's thread: an awaited one, one with a callback or an eventfd.
    // A plain ring request (the libaio face) is reaped by the GetEvents that wants it, which
    // waits in the kernel itself, so its CQE may sit in the CQ until then and wakes nobody.
    private readonly byte[] _async;        // tag → 1 while its request needs asynchronous delivery; written by Submit before the SQE is published
    private int _asyncInFlight;            // such requests submitted and not yet reaped: Interlocked (Submit +1, reap -n)
    private int _reaperDemand;             // the core's own waiters (GetEventsAsync, teardown): Interlocked via AddReaperDemand
    private readonly bool _callerWaits;    // GetEvents can wait in the kernel (IORING_FEAT_EXT_ARG); else every request is async
    private const int ParkedUntimed = 2;   // _parked while the reaper waits with no timeout (nothing awaited in flight, no poller)
    private int _parked;                   // non-zero while the reaper waits on _parkLock instead of the CQ: Interlocked/Volatile
    private readonly object _parkLock = new(); // Monitor: the reaper waits on it (Lock has no condition variable)

    private readonly ReaperThread _reaper;
    private long _reaperWakeups;           // written by the reaper only; diagnostics

    // ---- Coalesced submission of awaited requests (see FlushAwaited). ----
    private int _flushQueued;              // 1 while a coalescing work item is queued and has not begun: Interlocked
    private long _flushStarts;             // coalescing work items begun: Interlocked; the reaper's stall check of a queued one
    private readonly WorkItemDrain _drain = new(); // coalescing work items against Dispose

    /// <summary>The engine whose coalescing work item runs on this thread (a continuation it runs may dispose the context).</summary>
    [ThreadStatic]
    private static IoUringEngine? s_flushing;

    /// <summary>Creates the ring for <paramref name="capacity"/> requests in flight.</summary>
    /// <param name="completer">The core.</param>
    /// <param name="capacity">Requests in flight at most.</param>
    /// <param name="submittersReap">AioContextOptions.SubmittersReap: completions run on their submitter's next kernel entry (COOP_TASKRUN).</param>
    /// <exception cref="AioException">io_uring cannot work here; the message says why.</exception>
    public IoUringEngine(IRequestCompleter completer, int capacity, bool submittersReap = false)
        : base(completer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (!TryProbe(out string reason))
        {
            throw new AioException(ProbeErrno, reason);
        }

        uint sq = (uint)Math.Min(capacity, 32768);
        uint cq = (uint)Math.Min((2L * capacity) + 2, 65536); // requests, their cancels, the stop NOP, one wake NOP
        // SubmittersReap: completions are finished on their submitter's next kernel entry instead
        // of through an inter-processor interrupt (COOP_TASKRUN), and the kernel flags pending
        // ones in sq.flags (TASKRUN_FLAG) so that a polling TryReap can enter to finish its own.
        // perf of O_DIRECT randwrite QD32 from one submit-and-reap thread without it: the
        // interrupt's return path (irqentry_exit_to_user_mode, io_handle_tw_list) and a dearer
        // virtio kick cost ~2 µs of kernel time per write more than fio's, which sets COOP_TASKRUN.
        uint optional = Interop.IORING_SETUP_SUBMIT_ALL
            | (submittersReap ? Interop.IORING_SETUP_COOP_TASKRUN | Interop.IORING_SETUP_TASKRUN_FLAG : 0);
        IoUringRing? ring = IoUringRing.TryCreate(sq, cq, optional, out int res, out string step);
        if (ring is null)
        {
            throw new AioException(-res, "io_uring: " + step + " failed: " + Describe(-res));
        }

        _ring = ring;
        _async = new byte[capacity];
        _callerWaits = (ring.Features & Interop.IORING_FEAT_EXT_ARG) != 0;
        try
        {
            _reaper = new ReaperThread("Kaio io_uring reaper", ReaperLoop);
            _reaper.Start();
        }
        catch
        {
            _ring.Dispose();
            throw;
        }
    }

    public override AioEngineKind Kind => AioEngineKind.IoUring;

    public override bool ReadsCachedInline => true;

    public override EngineFeatures Features
        => EngineFeatures.RealIo | EngineFeatures.NativeSyncFlags | EngineFeatures.ReapOnCaller
            | (_callerWaits ? EngineFeatures.WaitOnCaller : EngineFeatures.None);

    /// <summary>The IORING_SETUP_* flags the ring was created with (diagnostics and tests).</summary>
    internal uint SetupFlags => _ring.SetupFlags;

    /// <summary>The kernel's sq.flags now (IORING_SQ_CQ_OVERFLOW, IORING_SQ_TASKRUN); tests only.</summary>
    internal uint SqFlagsNow => Volatile.Read(ref *_ring.SqFlags);

    /// <summary>SQ and CQ sizes the kernel granted.</summary>
    internal uint SqEntries => _ring.SqEntries;

    internal uint CqEntries => _ring.CqEntries;

    /// <summary>How many times the reaper thread came back from waiting (diagnostics).</summary>
    internal long ReaperWakeups => Volatile.Read(ref _reaperWakeups); // acquire: pairs with the release in ReaperLoop

    /// <summary>The engine's waiting state in one line, for a test's failure message (racy reads; diagnostics only).</summary>
    internal string DescribeState()
        => $"parked={Volatile.Read(ref _parked)} poller={_poller.Owner} rounds={_poller.Rounds} asyncInFlight={Volatile.Read(ref _asyncInFlight)} "
            + $"reaperDemand={Volatile.Read(ref _reaperDemand)} callerWaiters={Volatile.Read(ref _callerWaiters)} flushQueued={Volatile.Read(ref _flushQueued)} "
            + $"flushStarts={Volatile.Read(ref _flushStarts)} cancelsOwed={Volatile.Read(ref _cancelsOwed)} reaperWakeups={ReaperWakeups} "
            + $"sq={Volatile.Read(ref *_ring.SqHead)}..{Volatile.Read(ref *_ring.SqTail)} cq={Volatile.Read(ref *_ring.CqHead)}..{Volatile.Read(ref *_ring.CqTail)} "
            + $"sqFlags={Volatile.Read(ref *_ring.SqFlags)} poolPending={System.Threading.ThreadPool.PendingWorkItemCount}";

    internal override bool HoldsLockOnCurrentThread => _sqLock.IsHeldByCurrentThread || _cqLock.IsHeldByCurrentThread;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing)
        {
            return;
        }

        Debug.Assert(!_reaper.IsCurrent, "teardown never runs on the reaping thread");

        // A coalescing work item may still be queued or running (it found nothing left to do,
        // or is returning): it must not touch the ring once it is unmapped. See Execute. Not the
        // one on this thread, if any: a continuation it ran inline is disposing the context (an
        // async method's `using`), and it touches nothing once it sees IsClosing.
        _drain.CloseAndWait(fromInsideOne: s_flushing == this);

        lock (_sqLock)
        {
            _disposing = true; // under _sqLock: a late WakeWaiters now leaves the ring alone
            Interop.io_uring_sqe* sqe = GetSqeLocked();
            if (sqe == null)
            {
                Environment.FailFast("Kaio: io_uring SQ full at teardown");
            }

            *sqe = default;
            sqe->opcode = Interop.IORING_OP_NOP;
            sqe->user_data = StopUserData;
            _sqTail++;
            Volatile.Write(ref *_ring.SqTail, _sqTail); // release: as in Submit
        }

        // Enter without reaping (not Flush): the stop NOP's CQE must be the reaper's to take. Had
        // this thread reaped it, a reaper that had just looked at an empty CQ would then wait in
        // io_uring_enter(GETEVENTS) for a CQE that never comes, and Join below would hang (seen
        // as a rare hang of a test's Dispose). Every user has left, so nobody else reaps now.
        _ = EnterPending();

        lock (_parkLock)
        {
            // Release: the reaper leaves its parking for the CQ, where the stop NOP is.
            _reaper.Stop();
            Monitor.Pulse(_parkLock);
        }

        _reaper.Join();

        // Every request and every cancel has posted its CQE and been reaped: the kernel will
        // write nothing more to these mappings or to any request's buffer.
        _ring.Dispose();
    }
}
