// The io_uring engine's awaiters: one thread-pool work item enters for every awaited request
// published, polls while they are in the kernel, and runs their continuations inline.
using Kaio.Core;

namespace Kaio.Engines.IoUring;

internal sealed unsafe partial class IoUringEngine
{
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
            // A continuation this engine's work item runs inline, on its thread. It is entered
            // here, not left for the work item's loop to enter when the continuation returns: a
            // continuation that then blocks until this request completes (sync over async:
            // ReadAsync(...).AsTask().Wait()) would never return, and nobody else enters this SQ
            // (ConformanceTests.AContinuationThatWaitsSynchronouslyForAnotherRead_GetsIt: hung
            // every time, sq=2..3, the reaper in the kernel waiting for a poll's CQE). One enter per
            // such request instead of one per round cost nothing measurable: io_uring:await 32
            // O_DIRECT 84.3k vs 84.3k IOPS at 55.5 vs 55.6 % CPU (medians of 5).
            _ = EnterPending();

            // The work item asks the reaper only at the end of its round, which a continuation
            // that blocks never reaches; a reaper resting without a timeout (it was idle) watches
            // nobody and then slept through this request's completion
            // (IoUringEngineTests.Poller_AContinuationThatBlocksInIt_..., about 1 full run in 10:
            // parked untimed, 1 request needing delivery, its CQE in the CQ for 8 s). So wake it to
            // watch, once per idle spell. Dekker pair: Submit's increment of _asyncInFlight (a full
            // fence) before this read; the reaper's exchange of _parked before it re-checks
            // NeedsReaper. Only here: every other path asks the reaper itself (Flush, the work
            // item's end); waking it on every lone awaiter's submit let it take their completions
            // from the work item under a busy pool (Poller_AnAwaitedODirectLoop_... saw none inline).
            if (Volatile.Read(ref _parked) == ParkedUntimed)
            {
                UnparkReaper();
            }

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
            Interlocked.Increment(ref _flushStarts); // the reaper may trust a queued work item again (see MayPark)
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
}
