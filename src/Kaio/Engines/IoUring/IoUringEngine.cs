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
    private static bool s_reapingForOwnWait;

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
    private readonly WorkItemDrain _drain = new(); // coalescing work items against Dispose

    /// <summary>The engine whose coalescing work item runs on this thread (a continuation it runs may dispose the context).</summary>
    [ThreadStatic]
    private static IoUringEngine? s_flushing;

    /// <summary>Creates the ring for <paramref name="capacity"/> requests in flight.</summary>
    /// <exception cref="AioException">io_uring cannot work here; the message says why.</exception>
    public IoUringEngine(IRequestCompleter completer, int capacity)
        : base(completer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (!TryProbe(out string reason))
        {
            throw new AioException(ProbeErrno, reason);
        }

        uint sq = (uint)Math.Min(capacity, 32768);
        uint cq = (uint)Math.Min((2L * capacity) + 2, 65536); // requests, their cancels, the stop NOP, one wake NOP
        IoUringRing? ring = IoUringRing.TryCreate(sq, cq, Interop.IORING_SETUP_SUBMIT_ALL, out int res, out string step);
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

    // Waiting on the caller's thread: a GetEvents that must wait blocks in io_uring_enter(GETEVENTS)
    // itself and reaps what woke it, instead of sleeping until the reaper thread hands the event
    // over — one wake-up per completion instead of two or more. Measured with `perf stat -e
    // context-switches` around `kaio bench --direct=1 --ioengine=io_uring`, 4 s, this VM, same
    // minute as fio: QD1 went from 4.0 to 2.0 switches per read and from 0.57x to 0.92x fio's
    // IOPS (19.4k vs 21.0k); QD32 from 0.35 to 0.07 switches per read at 0.8x fio's CPU per read.
    // While a caller waits the reaper parks and leaves the CQ to it (_callerWaiters). Known
    // limit: with several threads reaping one context at once, one of them may consume the wake
    // NOP meant for another, whose wait then ends at the core's 100 ms backstop. The kernel (5.18+: io_should_wake
    // compares cq.tail with the head seen when the wait began) wakes the caller for any CQE posted
    // after it began waiting, even one another thread reaps first; an event that reached the ring
    // some other way (the reaper, a Noop, teardown) wakes it through WakeWaiters' NOP.
    public override void WaitForCompletions(int timeoutMs, int token)
    {
        Interop.timespec ts = new() { tv_sec = timeoutMs / 1000, tv_nsec = (timeoutMs % 1000) * 1_000_000L };
        Interop.io_uring_getevents_arg arg = new() { sigmask = 0, sigmask_sz = 8, ts = (ulong)(&ts) };
        // -ETIME on timeout, -EINTR on a signal: either way the caller's loop looks again.
        _ = Interop.io_uring_enter(_ring.Fd, 0, 1, Interop.IORING_ENTER_GETEVENTS | Interop.IORING_ENTER_EXT_ARG, &arg, (nuint)sizeof(Interop.io_uring_getevents_arg));
        s_reapingForOwnWait = true; // what this thread delivers now, it reads itself: no wake NOP for it
        try
        {
            _ = TryReap();
        }
        finally
        {
            s_reapingForOwnWait = false;
        }
    }

    public override int BeginCallerWait()
    {
        Interlocked.Increment(ref _callerWaiters);
        return 0; // the kernel's wait compares the CQ tail itself (see WakeWaiters)
    }

    public override void EndCallerWait()
    {
        // Full fence (Interlocked) before reading _parked: pairs with the reaper's exchange of
        // _parked before it re-checks MayPark, which reads _callerWaiters.
        if (Interlocked.Decrement(ref _callerWaiters) == 0 && Volatile.Read(ref _parked) != 0 && !MayPark())
        {
            UnparkReaper();
        }
    }

    public override void WakeWaiters()
    {
        // Acquire: after the core's publishing CAS, pairs with BeginCallerWait's increment.
        if (Volatile.Read(ref _callerWaiters) == 0 || s_reapingForOwnWait)
        {
            return;
        }

        // One wake NOP in flight at most, so the CQ's room for it is one entry.
        if (Interlocked.CompareExchange(ref _wakePending, 1, 0) != 0)
        {
            return;
        }

        // All of it under _sqLock, the enter included, and not at all once Dispose has begun:
        // the thread asking may be delivering the context's last event (the deferred work queue,
        // the reaper), after which teardown may already be freeing this engine — the ring is
        // unmapped only after Dispose has taken _sqLock and set _disposing, so a wake that holds
        // the lock finishes first and one that comes later touches nothing. (Without this, a
        // deferred delivery preempted between its check of _callerWaiters and its enter read the
        // unmapped SQ ring: an access violation seen in the test suite.) Wakes are rare: a caller
        // waits in the kernel while an event reached the ring another way.
        lock (_sqLock)
        {
            if (_disposing)
            {
                return;
            }

            // Delivery holds no engine lock (the one-way contract), so entering to make room is fine.
            Interop.io_uring_sqe* sqe = GetSqeLocked();
            if (sqe == null)
            {
                Volatile.Write(ref _wakePending, 0);
                return; // SQ full even after entering: the caller's wait ends at its timeout
            }

            *sqe = default;
            sqe->opcode = Interop.IORING_OP_NOP;
            sqe->user_data = WakeUserData;
            _sqTail++;
            Volatile.Write(ref *_ring.SqTail, _sqTail); // release: as in Submit

            // A bare enter, no reap: the thread asking may be delivering a batch already.
            Enter(1);
        }
    }

    /// <summary>SQ and CQ sizes the kernel granted.</summary>
    internal uint SqEntries => _ring.SqEntries;

    internal uint CqEntries => _ring.CqEntries;

    /// <summary>How many times the reaper thread came back from waiting (diagnostics).</summary>
    internal long ReaperWakeups => Volatile.Read(ref _reaperWakeups); // acquire: pairs with the release in ReaperLoop

    public override int Submit(RequestSlot slot)
    {
        byte opcode;
        switch (slot.Command)
        {
            case IocbCommand.Pread:
                opcode = Interop.IORING_OP_READ;
                break;
            case IocbCommand.Pwrite:
                opcode = Interop.IORING_OP_WRITE;
                break;
            case IocbCommand.Preadv:
                opcode = Interop.IORING_OP_READV;
                break;
            case IocbCommand.Pwritev:
                opcode = Interop.IORING_OP_WRITEV;
                break;
            case IocbCommand.Fsync:
            case IocbCommand.Fdsync:
                opcode = Interop.IORING_OP_FSYNC;
                break;
            case IocbCommand.Poll:
                opcode = Interop.IORING_OP_POLL_ADD;
                break;
            case IocbCommand.Fallocate:
                opcode = Interop.IORING_OP_FALLOCATE;
                break;
            default:
                return -Errno.EINVAL;
        }

        CancelRegistration registration = CancelRegistration.Registered;
        lock (_sqLock)
        {
            Interop.io_uring_sqe* sqe = GetSqeLocked();
            if (sqe == null)
            {
                return -Errno.EAGAIN;
            }

            // Registered under _sqLock, before the SQE is published: a cancel asked from another
            // thread from now on waits for the lock in Cancel(), so its ASYNC_CANCEL always
            // follows the SQE it targets. A cancel asked before this point only marked the
            // request (CancelAsked): it never reaches the kernel and completes below with
            // -ECANCELED, cancelled for sure — no callback runs inside Submit.
            registration = slot.TrySetCancelCallback();
            Debug.Assert(registration != CancelRegistration.Completed, "its SQE is not visible yet");

            if (registration == CancelRegistration.Registered)
            {
                PrepLocked(sqe, opcode, slot);
                _sqTail++;
                bool needsAsync = !_callerWaits || slot.IsAwaitable || slot.Callback is not null || slot.EventFdRef is not null;
                _async[slot.Tag] = needsAsync ? (byte)1 : (byte)0; // published with the SQE by the tail's release
                if (needsAsync)
                {
                    // Pairs with the reaper's re-check after it sets _parked (see ReaperLoop).
                    Interlocked.Increment(ref _asyncInFlight);
                }

                // Release: the SQEs filled above are visible before the tail that names them;
                // pairs with the kernel's smp_load_acquire of sq.tail in io_sqring_entries().
                Volatile.Write(ref *_ring.SqTail, _sqTail);
            }
        }

        if (registration == CancelRegistration.CancelAsked)
        {
            Completer.Complete(slot.Key, -Errno.ECANCELED, 0); // outside _sqLock: delivery holds no engine lock
        }

        return 0;
    }

    /// <summary>Fills the SQE of one request (IORING_OP_* chosen by Submit). Caller holds _sqLock.</summary>
    private static void PrepLocked(Interop.io_uring_sqe* sqe, byte opcode, RequestSlot slot)
    {
        *sqe = default;
        sqe->opcode = opcode;
        sqe->fd = slot.Fd;
        sqe->ioprio = slot.Priority;
        sqe->user_data = slot.Key;
        switch (slot.Command)
        {
            case IocbCommand.Pread:
            case IocbCommand.Pwrite:
            case IocbCommand.Preadv:
            case IocbCommand.Pwritev:
                // READ/WRITE take a buffer and its length, READV/WRITEV the iovec array and its count.
                bool vectored = slot.Command is IocbCommand.Preadv or IocbCommand.Pwritev;
                sqe->addr = vectored ? (ulong)slot.Iovecs : (ulong)slot.Buffer;
                sqe->len = vectored ? (uint)slot.IovecCount : (uint)slot.Length;
                sqe->off = (ulong)slot.Offset;
                sqe->rw_flags = (int)slot.RwFlags; // HiPri already dropped by the core (aio_prep_rw)
                break;
            case IocbCommand.Fdsync:
                sqe->fsync_flags = Interop.IORING_FSYNC_DATASYNC;
                break;
            case IocbCommand.Poll:
                sqe->poll32_events = (ushort)slot.PollEvents; // little-endian: the low half is poll_events
                break;
            case IocbCommand.Fallocate:
                // io_fallocate_prep(): the offset in off, the length in addr, the mode in len.
                sqe->off = (ulong)slot.Offset;
                sqe->addr = (ulong)slot.TotalLength;
                sqe->len = (uint)slot.FallocateMode;
                break;
        }
    }

    /// <summary>The next free SQE, entering the kernel first if the SQ is full; null if it stays full.</summary>
    private Interop.io_uring_sqe* GetSqeLocked()
    {
        Debug.Assert(_sqLock.IsHeldByCurrentThread);
        // Acquire: pairs with the kernel's smp_store_release of sq.head once it has read the SQEs.
        uint head = Volatile.Read(ref *_ring.SqHead);
        if (_sqTail - head >= _ring.SqEntries)
        {
            Volatile.Write(ref *_ring.SqTail, _sqTail); // release: as in Submit
            Enter(_sqTail - head);
            head = Volatile.Read(ref *_ring.SqHead); // acquire: as above
            if (_sqTail - head >= _ring.SqEntries)
            {
                return null;
            }
        }

        return &_ring.Sqes[_sqTail & _ring.SqMask];
    }

    public override void Flush()
    {
        if (EnterPending())
        {
            // A read from the page cache completed inside io_uring_enter: its CQE is there now.
            // Reaping it on the submitting thread completes an awaited read before the ValueTask
            // is even returned, instead of through the reaper and a thread-pool hop: ReadAsync
            // with 32 reads outstanding, one context, this VM: 296-299k IOPS at 4.3-4.4 µs CPU
            // per read without it, 396-426k at 3.0-3.1 µs with it; Submit/GetEvents unchanged.
            _ = TryReap();
        }

        // Requests still in flight after that reap went asynchronous (O_DIRECT, a poll, io-wq):
        // only now, and only if one of them needs asynchronous delivery, is the reaper needed.
        UnparkReaperIfNeeded();
    }

    /// <summary>
    /// After an enter: wakes the parked reaper if it may not rest now (see MayPark). Full fence
    /// before reading _parked: pairs with the reaper's Interlocked.Exchange of _parked before it
    /// re-checks MayPark, so either it sees what this enter put in the kernel or this sees it parked.
    /// </summary>
    private void UnparkReaperIfNeeded()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _parked) != 0 && !MayPark())
        {
            UnparkReaper();
        }
    }

    // Coalescing the submissions of concurrent awaiters. Many tasks each awaiting one ReadAsync
    // at a time on one context, from the thread pool's threads, made one io_uring_enter each: on
    // 2 cores, two threads entering one ring at once spent 17% of the machine spinning on the
    // ring's uring_lock (perf: mutex_spin_on_owner), and 8 tasks read 0.35x RandomAccess's IOPS
    // from the page cache. So an awaited request submitted on a thread-pool thread while other
    // awaited requests are in flight only publishes its SQE, and queues (once) a work item that
    // enters for every SQE published by then and reaps what completed — delivering each
    // completion inline, its continuation running in that work item instead of through the thread
    // pool's queue (AioEngine.DeliverInline). The continuations submit their next requests, which
    // queue the next work item: one enter per round of awaiters instead of one per request. A
    // lone awaiter (nothing else in flight), or one on a thread that is not the thread pool's,
    // still enters at once and may complete before its ValueTask is returned (Flush).
    // Measured (bench/compare-fio.sh await, 3 rounds, median; bench/README.md): 8 tasks reading
    // the page cache went from 392-453k reads/s with 20-24k context switches in 3 s and a read
    // waiting up to 405 ms, to 624k (0.51x RandomAccess, which runs its preads on both cores:
    // one ring's submissions, and with them its cached reads, run one at a time) with every task
    // served (max 12 ms); 32 tasks O_DIRECT: 65k, 2.2x RandomAccess, 0.76x fio io_uring QD32.
    //
    // "Alone" is the core's: no other request of the context outstanding, its continuation
    // included — not merely none in the kernel. With the engine's own count (_asyncInFlight),
    // a task whose reads kept completing inside its own enter also reaped the others' CQEs and
    // queued their continuations behind itself on its thread: 8 tasks, page cache, some waited
    // 2.6 s for a read that had completed (RandomAccess starves loops the same way).
    public override void FlushAwaited(RequestSlot slot, bool alone)
    {
        if (!alone && s_flushing == this)
        {
            // A continuation this engine's work item runs inline, on its thread: the work item
            // enters for this SQE when the continuation returns (Execute's loop checks the SQ).
            return;
        }

        if (alone && _callerWaits && s_flushing != this && Thread.CurrentThread.IsThreadPoolThread)
        {
            // Alone: entered at once (it may complete inside the enter, before its ValueTask is
            // returned). If it went asynchronous (O_DIRECT), a work item polls for it (see
            // PollOnce) instead of the reaper: its continuation then runs on the thread that
            // waited, and submits the next read into that loop — one wake-up per read, as fio's
            // QD1, instead of the reaper's and a pool thread's (which spins before it sleeps).
            if (EnterPending())
            {
                _ = TryReap();
            }

            if (Volatile.Read(ref _asyncInFlight) > 0 && Interlocked.CompareExchange(ref _flushQueued, 1, 0) == 0)
            {
                System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
                return;
            }

            UnparkReaperIfNeeded();
            return;
        }

        if (!alone && Thread.CurrentThread.IsThreadPoolThread)
        {
            // Full fence (CAS) after the SQE's publication: pairs with the work item's exchange
            // of _flushQueued before it reads the SQ tail, so either it sees this SQE or this CAS
            // sees 0 and queues another work item.
            // The global queue (FIFO), not this thread's (LIFO): an awaiter that is not alone
            // yields here — the reads the page cache holds complete inside their calls
            // (AioContext.CachedRead.cs), and a loop's every 17th read comes here so that the
            // others get their turn. Queued locally, the work item ran next on the same thread and
            // the same loop went on (8 tasks: a read waited 3.9 s).
            if (Interlocked.CompareExchange(ref _flushQueued, 1, 0) == 0)
            {
                System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }

            return;
        }

        Flush();
    }

    /// <summary>The coalescing work item (see FlushAwaited).</summary>
    void IThreadPoolWorkItem.Execute()
    {
        // Dekker pair with Dispose (WorkItemDrain): either it waits for this item or this item
        // touches nothing.
        bool open = _drain.Enter();
        IoUringEngine? outer = s_flushing;
        s_flushing = this;
        try
        {
            if (!open)
            {
                return;
            }

            // Before entering: an awaiter that publishes from now on queues a new work item.
            Interlocked.Exchange(ref _flushQueued, 0);
            while (true)
            {
                _ = EnterPending();

                // A continuation run inline may have disposed the context, and with it this engine
                // (Dispose does not wait for the work item it is called from): then the ring is gone.
                if (!ReapInline())
                {
                    return;
                }

                // The continuations above ran on this thread and published their next SQEs
                // without queueing a work item (FlushAwaited): enter for them.
                if (Volatile.Read(ref *_ring.SqTail) != Volatile.Read(ref *_ring.SqHead))
                {
                    continue;
                }

                if (!TryStartPolling())
                {
                    break;
                }

                _poller.Round(); // the reaper's stall check reads it

                if (!PollOnce())
                {
                    break; // nothing completed within PollWaitMs: the reaper waits from here on
                }
            }

            // As in Flush: requests still in the kernel went asynchronous and need the reaper —
            // unless the continuations above queued the next work item, which enters, reaps what
            // has completed by then and asks this again (the last of a chain of rounds does).
            StopPolling();
            if (Volatile.Read(ref _flushQueued) == 0)
            {
                UnparkReaperIfNeeded();
            }
        }
        finally
        {
            StopPolling(); // also when left early (a continuation disposed the context): touches no ring
            s_flushing = outer;
            _drain.Exit();
        }
    }

    // Polling: the coalescing work item waits for the awaiters' completions itself. While requests
    // that need asynchronous delivery are in the kernel and the thread pool has nothing else
    // queued, the work item that entered for them waits in io_uring_enter(GETEVENTS,
    // min_complete=1) for up to PollWaitMs and delivers what woke it inline, the continuations
    // submitting their next reads into the same loop — fio's shape (one thread that submits,
    // waits and reaps), and the one tokio-uring's runtime thread has; the reaper parks meanwhile
    // (MayPark). Without it each O_DIRECT completion went reaper → thread-pool queue → a pool
    // thread woken to run the continuation → a work item queued to enter: ~3 context switches per
    // read (perf stat, 32 awaiting tasks: 558k switches for 172k reads). Measured after
    // (bench/compare-fio.sh await, 3 rounds, median): 32 tasks 7.2 µs CPU per read against fio
    // io_uring's 6.5 at QD32 (was 17.9 against 5.4), 1.05x its IOPS; 1 task 34.9 µs against 24.1
    // (was 112.8 against 25.4). It stops when a wait
    // brings nothing (the device is slow: the reaper takes over), when other work is queued in
    // the pool (this thread is needed), when another work item is queued, or at Dispose. One
    // poller at a time (PollerRole).
    private const int PollWaitMs = 1;

    // Which work item polls; MayPark lets the reaper rest then, watching it for a stall (after which
    // both may reap: CQ consumption is under _cqLock).
    private readonly PollerRole _poller = new();

    /// <summary>Becomes the poller if polling is worth it now (see the comment above).</summary>
    private bool TryStartPolling()
    {
        if (_poller.IsMine)
        {
            return MayKeepPolling();
        }

        if (!_callerWaits || !MayKeepPolling() || !_poller.TryTake())
        {
            return false;
        }

        // A reaper parked without a timeout (it was idle) must watch this poller: it may block in a
        // continuation (see ReaperLoop). The CAS above is the full fence of the Dekker pair.
        if (Volatile.Read(ref _parked) == ParkedUntimed)
        {
            UnparkReaper();
        }

        return true;
    }

    // Only while the kernel holds a request (an SQE it consumed has not posted its CQE): requests
    // published but not entered belong to a queued work item, and cached reads complete inside the
    // enter. Polling for those held a pool thread in the kernel for nothing: 8 tasks reading the
    // page cache ran on one core (1.03 cores, 554k reads/s against 1.0M on two).
    private bool MayKeepPolling()
        => !_drain.IsClosing
            && Volatile.Read(ref _asyncInFlight) > 0
            && Volatile.Read(ref _flushQueued) == 0
            && !NothingInKernel()
            && System.Threading.ThreadPool.PendingWorkItemCount == 0;

    /// <summary>Ends this work item's poll, if it polled; the caller then wakes the reaper if it is needed.</summary>
    private void StopPolling()
    {
        // Full fence (CAS) before UnparkReaperIfNeeded reads _parked; a no-op for a work item that did not poll.
        _ = _poller.Release();
    }

    /// <summary>One wait in the kernel for a completion, up to PollWaitMs; true if a CQE is there.</summary>
    private bool PollOnce()
    {
        Interop.timespec ts = new() { tv_sec = 0, tv_nsec = PollWaitMs * 1_000_000L };
        Interop.io_uring_getevents_arg arg = new() { sigmask = 0, sigmask_sz = 8, ts = (ulong)(&ts) };
        // -ETIME on timeout, -EINTR on a signal: the CQ says whether anything came.
        _ = Interop.io_uring_enter(_ring.Fd, 0, 1, Interop.IORING_ENTER_GETEVENTS | Interop.IORING_ENTER_EXT_ARG, &arg, (nuint)sizeof(Interop.io_uring_getevents_arg));
        return Volatile.Read(ref *_ring.CqTail) != Volatile.Read(ref *_ring.CqHead); // acquire: as in TryReap
    }

    /// <summary>
    /// Reaps one CQE at a time and delivers it with its continuation inline: nothing reaped is
    /// held while a continuation runs (it may block, or dispose the context). False when a
    /// continuation disposed this engine: the ring must not be touched again.
    /// </summary>
    private bool ReapInline()
    {
        Completion one = default;
        while (Volatile.Read(ref *_ring.CqTail) != Volatile.Read(ref *_ring.CqHead)) // acquire: as in TryReap
        {
            if (!_cqLock.TryEnter())
            {
                return true; // someone else reaps: they deliver what is there
            }

            int n;
            try
            {
                n = ReapLocked(new Span<Completion>(ref one), reaper: false);
            }
            finally
            {
                _cqLock.Exit();
            }

            if (n == 0)
            {
                return true; // engine CQEs only, or a caller waits in the kernel and owns the CQ
            }

            // What the continuations run so far published (they queue no work item: see
            // FlushAwaited) goes to the kernel before the next one runs: it may block.
            if (Volatile.Read(ref *_ring.SqTail) != Volatile.Read(ref *_ring.SqHead))
            {
                _ = EnterPending();
            }

            DeliverInline(in one);
            if (_drain.IsClosing)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Some request in flight needs asynchronous delivery, or a waiter of the core's needs the reaper.</summary>
    private bool NeedsReaper() => Volatile.Read(ref _asyncInFlight) > 0 || Volatile.Read(ref _reaperDemand) > 0;

    public override void AddReaperDemand(int delta)
    {
        // Full fence (Interlocked) before reading _parked: pairs with the reaper's exchange.
        if (Interlocked.Add(ref _reaperDemand, delta) > 0 && Volatile.Read(ref _parked) != 0)
        {
            UnparkReaper();
        }
    }

    private void UnparkReaper()
    {
        lock (_parkLock)
        {
            Monitor.Pulse(_parkLock);
        }
    }

    /// <summary>Submits every SQE published and not yet consumed (no reaping); false when there was none.</summary>
    private bool EnterPending()
    {
        // Acquire reads of both indices: the tail is published by submitters (release in Submit),
        // the head by the kernel.
        uint pending = Volatile.Read(ref *_ring.SqTail) - Volatile.Read(ref *_ring.SqHead);
        if (pending == 0)
        {
            return false;
        }

        Enter(pending);
        return true;
    }

    /// <summary>One io_uring_enter submitting up to <paramref name="toSubmit"/> SQEs, retried while the kernel says so.</summary>
    private void Enter(uint toSubmit)
    {
        SpinWait spin = default;
        while (true)
        {
            int ret = Interop.io_uring_enter(_ring.Fd, toSubmit, 0, 0, null, 0);
            if (ret >= 0)
            {
                // Fewer consumed than asked: a concurrent enter took them, or (without
                // IORING_SETUP_SUBMIT_ALL) an SQE failed and ended the batch with its CQE posted.
                // Either way, submit whatever is still pending.
                uint left = Volatile.Read(ref *_ring.SqTail) - Volatile.Read(ref *_ring.SqHead); // acquire: as in Flush
                if ((uint)ret >= toSubmit || left == 0)
                {
                    return;
                }

                toSubmit = left;
                continue;
            }

            int errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Errno.EINTR:
                    continue;
                case Errno.EAGAIN:
                case EBUSY:
                    // The kernel holds overflowed CQEs or is short of memory: the reaper thread
                    // drains the CQ; retry. Not reaping here: Enter runs inside Cancel, whose
                    // request must not be completed on this thread.
                    spin.SpinOnce(sleep1Threshold: -1);
                    continue;
                default:
                    // The ring is ours and its SQEs valid; anything else means a broken invariant,
                    // and leaving requests unsubmitted would hang every waiter.
                    Environment.FailFast("Kaio: io_uring_enter failed: " + Describe(errno));
                    return;
            }
        }
    }

    public override void Cancel(RequestSlot slot)
    {
        // Called by the core's cancel (a user's TryCancel, a token, teardown), never from inside
        // another call of this engine: Submit handles a cancel asked before it registered itself.
        lock (_sqLock)
        {
            Interop.io_uring_sqe* sqe = GetSqeLocked();
            if (sqe == null)
            {
                return; // SQ full even after entering: the request will finish with its real result
            }

            *sqe = default;
            sqe->opcode = Interop.IORING_OP_ASYNC_CANCEL;
            sqe->fd = -1;
            sqe->addr = slot.Key;
            sqe->user_data = CancelUserData;
            _sqTail++;
            // Pairs with the reaper's Interlocked.Decrement when it reaps this cancel's CQE.
            Interlocked.Increment(ref _cancelsOwed);
            Volatile.Write(ref *_ring.SqTail, _sqTail); // release: as in Submit
        }

        // Enter without reaping: this request is in Cancelling until we return, so completing it
        // here (its CQE may be in the ring already) would wait for ourselves.
        _ = EnterPending();
        UnparkReaperIfNeeded();
    }

    internal override bool HoldsLockOnCurrentThread => _sqLock.IsHeldByCurrentThread || _cqLock.IsHeldByCurrentThread;

    public override bool TryReap()
    {
        Span<Completion> batch = stackalloc Completion[ReapBatch];
        bool any = false, flushed = false;
        while (true)
        {
            // Acquire: pairs with the kernel's smp_store_release of cq.tail in io_commit_cqring().
            if (Volatile.Read(ref *_ring.CqTail) == Volatile.Read(ref *_ring.CqHead))
            {
                // CQEs the kernel kept aside when the CQ was full (IORING_FEAT_NODROP) are moved
                // into it only by an enter with GETEVENTS: the reaper's and a caller's waits make
                // one, a caller that only polls makes it here, once per call. (The CQ is sized so
                // that it cannot overflow unless the kernel clamped it.)
                if (flushed || (Volatile.Read(ref *_ring.SqFlags) & Interop.IORING_SQ_CQ_OVERFLOW) == 0)
                {
                    return any;
                }

                flushed = true;
                _ = Interop.io_uring_enter(_ring.Fd, 0, 0, Interop.IORING_ENTER_GETEVENTS, null, 0);
                continue;
            }

            if (!_cqLock.TryEnter())
            {
                return any;
            }

            int n;
            try
            {
                n = ReapLocked(batch, reaper: false);
            }
            finally
            {
                _cqLock.Exit();
            }

            Deliver(batch[..n]); // the one-way contract: no engine lock is held from here on
            any |= n != 0;
        }
    }

    /// <summary>
    /// Takes up to <paramref name="into"/>.Length request CQEs off the ring (handling the
    /// engine's own CQEs on the way) and returns how many; the caller, holding _cqLock, releases
    /// it and only then delivers them.
    /// </summary>
    private int ReapLocked(Span<Completion> into, bool reaper)
    {
        Debug.Assert(_cqLock.IsHeldByCurrentThread);
        // The reaper yields the CQ to a caller waiting in WaitForCompletions (see _callerWaiters).
        if (reaper && Volatile.Read(ref _callerWaiters) != 0)
        {
            return 0;
        }

        int n = 0, asyncReaped = 0;
        uint head = *_ring.CqHead; // ours: only the holder of _cqLock writes it
        uint tail = Volatile.Read(ref *_ring.CqTail); // acquire: as in TryReap
        while (head != tail && n < into.Length)
        {
            Interop.io_uring_cqe* cqe = &_ring.Cqes[head & _ring.CqMask];
            ulong userData = cqe->user_data;
            int res = cqe->res;
            head++;
            if (RequestKey.IsReserved(userData))
            {
                if (userData == WakeUserData)
                {
                    // Release: another wake may be posted now (pairs with the CAS in WakeWaiters).
                    Volatile.Write(ref _wakePending, 0);
                }
                else if (userData == CancelUserData)
                {
                    // Pairs with the Interlocked.Increment in Cancel.
                    Interlocked.Decrement(ref _cancelsOwed);
                }
                else
                {
                    _stopSeen = true;
                }

                continue;
            }

            asyncReaped += _async[RequestKey.TagOf(userData)]; // the tag is not reused before delivery
            into[n++] = new Completion(userData, res, 0);
        }

        if (asyncReaped != 0)
        {
            // Pairs with the Interlocked.Increment in Submit.
            Interlocked.Add(ref _asyncInFlight, -asyncReaped);
        }

        // Release: the CQEs above were read before the kernel may reuse their entries; pairs
        // with the kernel's READ_ONCE/acquire of cq.head when it computes free CQ space.
        Volatile.Write(ref *_ring.CqHead, head);
        return n;
    }

    // The reaper: delivers completions when no caller is reaping (awaiters, blocked GetEvents).
    //
    // Why a thread blocked in io_uring_enter(GETEVENTS, min_complete=1) and not an eventfd
    // registered with IORING_REGISTER_EVENTFD and a thread blocked in read() on it: measured on
    // this VM (2 vCPU, Linux 6.18, 4 KiB random reads of a 1 GiB file; engine driven directly by
    // one thread; IOPS, two runs each, enter vs eventfd):
    //   caller reaps (TryReap), reaper as backstop — page cache QD1: 604k/571k vs 509k/542k;
    //   QD32: 963k/883k vs 889k/878k; QD128: 1.022M/1.023M vs 1.020M/1.041M;
    //   O_DIRECT QD32: 73.7k/71.4k vs 72.7k/66.2k.
    //   reaper delivers everything — page cache QD1: 84k/86k vs 86k/79k; QD32: 783k/764k vs 794k/794k.
    // The enter-based reaper is as fast or faster (most at QD1, where the eventfd costs an extra
    // wake-up and syscall per completion), and needs no extra fd.
    //
    // Parking: a thread in io_uring_enter(GETEVENTS) is woken by every CQE the kernel posts,
    // including those of cached reads that complete inside the submitter's own io_uring_enter
    // and that Flush reaps right after — a wake-up for nothing. So when no request is in flight
    // the reaper parks on _parkLock instead, out of the CQ's wait queue, and Flush unparks it
    // only when requests are still in flight after its reap (they went asynchronous).
    // The handshake: the reaper publishes _parked, then re-checks NeedsReaper; Flush publishes
    // _asyncInFlight (Submit's increment), then reads _parked — both through full fences, so one
    // of them sees the other. Measured through AioContext (cached 4 KiB random reads,
    // Submit/GetEvents, this VM): QD1 2.9 -> 1.5-1.7 µs CPU per read (355k -> 503-613k IOPS);
    // QD32 1.2-1.3 -> 1.2 µs; two threads QD32 1.35 -> 1.1-1.24 µs (883k -> 846k-1.26M IOPS);
    // ReadAsync QD32 3.0-3.25 -> 2.75 µs (370-426k -> 443-489k IOPS).
    //
    // Only requests that need asynchronous delivery keep the reaper up (_asyncInFlight): a plain
    // ring request in flight is reaped by the GetEvents that waits for it in io_uring_enter on
    // its own thread. Unparking the reaper for it cost a wake-up and a re-park per request, for
    // nothing: O_DIRECT randread QD1 (kaio bench, 4 s, perf stat) went from 2.27 to ~1 context
    // switches per read, fio's count (see bench/README.md). The core's own waiters, which do
    // not reap (GetEventsAsync) and teardown's drain, raise _reaperDemand instead.
    // Acquire reads: pair with Submit's and Cancel's increments and Dispose's release.
    //
    // And it may rest while awaited requests are outstanding but none is in the kernel: each SQE
    // the kernel consumed posts exactly one CQE (requests, cancels, NOPs: nothing here is
    // multishot or skips its CQE), so SQ head == CQ tail == CQ head means every CQE is posted
    // and reaped. Requests published but not entered yet belong to a queued coalescing work
    // item, which checks again after its enter (UnparkReaperIfNeeded, as every enter does). With
    // many awaiters reading from the page cache, their reads complete inside those enters: the
    // reaper, woken by each CQE, took them from the work item and sent every continuation
    // through the thread pool's queue (8 tasks: 64k context switches in 3 s, 0.6x the IOPS).
    //
    // Likewise while a coalescing work item is queued: it reaps what the kernel has finished by
    // the time it runs, and the last work item of a chain of rounds wakes the reaper if requests
    // are still in the kernel then. (Woken for every CQE of the rounds' enters, the reaper took
    // the cached reads' completions from the work items and sent their continuations through the
    // thread pool's queue: 8-16 tasks ran at 0.45-0.55M reads/s with 20-67k context switches in
    // 3 s, or at 61k with 200k.)
    private bool MayPark()
        => !_reaper.IsStopping
            && (Volatile.Read(ref _callerWaiters) != 0
                || (_poller.Owner != 0 && Volatile.Read(ref _reaperDemand) == 0 && Volatile.Read(ref _cancelsOwed) == 0)
                || (Volatile.Read(ref _cancelsOwed) == 0
                    && (!NeedsReaper()
                        || (Volatile.Read(ref _reaperDemand) == 0 && (Volatile.Read(ref _flushQueued) != 0 || NothingInKernel())))));

    /// <summary>Every SQE the kernel consumed has posted its CQE and every CQE was reaped (acquire reads).</summary>
    private bool NothingInKernel()
    {
        uint cqTail = Volatile.Read(ref *_ring.CqTail);
        return Volatile.Read(ref *_ring.SqHead) == cqTail
            && Volatile.Read(ref *_ring.CqHead) == cqTail
            && (Volatile.Read(ref *_ring.SqFlags) & Interop.IORING_SQ_CQ_OVERFLOW) == 0;
    }

    private void ReaperLoop()
    {
        Span<Completion> batch = stackalloc Completion[ReapBatch];
        while (true)
        {
            int n;
            bool stop;
            lock (_cqLock)
            {
                n = ReapLocked(batch, reaper: true);
                // Acquire: pairs with the Interlocked.Increment in Cancel.
                stop = _stopSeen && Volatile.Read(ref _cancelsOwed) == 0;
            }

            Deliver(batch[..n]); // outside _cqLock: the one-way contract
            if (n == batch.Length)
            {
                continue; // the batch was full: there may be more
            }

            if (stop)
            {
                return;
            }

            if (MayPark())
            {
                lock (_parkLock)
                {
                    // Full fence: pairs with Flush's fence (and AddReaperDemand's) before it reads _parked.
                    Interlocked.Exchange(ref _parked, 1);
                    long rounds = _poller.Rounds;
                    while (MayPark())
                    {
                        int poller = _poller.Owner;
                        if (poller == 0 && !NeedsReaper())
                        {
                            // Idle: no timeout, but a work item that becomes the poller from here on
                            // wakes it to be watched (TryStartPolling). Dekker pair: this exchange,
                            // then the read of _poller; the poller's CAS, then its read of _parked.
                            Interlocked.Exchange(ref _parked, ParkedUntimed);
                            if (_poller.Owner == 0)
                            {
                                Monitor.Wait(_parkLock);
                            }

                            Volatile.Write(ref _parked, 1);
                            continue;
                        }

                        // Resting on a poller's word: not for longer than it keeps making rounds. One
                        // stuck in a continuation loses the role (it takes it again, if free, when it
                        // comes back), and MayPark is asked again without it. With awaited requests
                        // outstanding it looks every StallMs even when nobody polls yet: a queued
                        // work item becomes the poller without waking it (a wake at every start of a
                        // poll would cost a futex call per round). Parked without a timeout, the
                        // reaper never saw the poller at all: it had parked before the first request
                        // and was woken twice in its life, while a poller blocked in a continuation
                        // held loop C's completions in the CQ for good
                        // (IoUringEngineTests.Poller_AContinuationThatBlocks_..., 1 run in 6).
                        bool pulsed = Monitor.Wait(_parkLock, PollerRole.StallMs);
                        _poller.RevokeIfStalled(poller, pulsed, ref rounds);
                    }

                    Volatile.Write(ref _parked, 0); // release: Flush stops unparking
                }

                continue;
            }

            // Returns at once if a CQE is already there, so nothing posted after the reap above
            // can be missed; it also flushes CQEs the kernel kept on overflow.
            int ret = Interop.io_uring_enter(_ring.Fd, 0, 1, Interop.IORING_ENTER_GETEVENTS, null, 0);
            if (ret < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is Errno.EAGAIN or EBUSY)
                {
                    // The kernel could not flush overflowed CQEs yet (no memory, or the CQ is
                    // full until the reap at the top of the loop makes room): go round again.
                    Thread.Yield();
                }
                else if (errno != Errno.EINTR)
                {
                    ReaperThread.Fail("io_uring reaper wait failed: " + Describe(errno));
                }
            }

            // Release: pairs with the acquire read in ReaperWakeups (diagnostics only).
            Volatile.Write(ref _reaperWakeups, _reaperWakeups + 1);
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
