// The io_uring engine's reaping: CQEs copied into a batch under _cqLock and delivered after the
// lock is released (the one-way contract); the reaper thread, and when it may park. See the
// Design comment in IoUringEngine.cs.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kaio.Core;

namespace Kaio.Engines.IoUring;

internal sealed unsafe partial class IoUringEngine
{
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

    // The stackalloc'd scratch is written before it is read (only its first n entries are read):
    // not zeroing it saves a 1.5-2 KB memset per call on the per-request path.
    [SkipLocalsInit]
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
                // that it cannot overflow unless the kernel clamped it.) So are completions that
                // wait for their submitter's next kernel entry (SubmittersReap: IORING_SQ_TASKRUN):
                // the enter finishes this thread's own.
                if (flushed || (Volatile.Read(ref *_ring.SqFlags) & (Interop.IORING_SQ_CQ_OVERFLOW | Interop.IORING_SQ_TASKRUN)) == 0)
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
    //
    // But not for ever: a queued work item that has not begun within PollerRole.StallMs (a busy
    // thread pool leaves it in its queue) loses the reaper's trust until some work item begins
    // (trustQueued false), and the reaper reaps meanwhile: trusting it for good, the reaper could
    // rest while completions sat in the CQ behind a work item a busy pool does not run. (This was
    // first taken for the cause of Poller_AContinuationThatBlocksInIt_... failing about 1 full
    // run in 10; the state dumped by that test when it failed under a CPU hog showed another: the
    // reaper parked without a timeout while a request needing delivery was in flight — see the
    // wake in FlushAwaited.)
    private bool MayPark(bool trustQueued = true)
        => !_reaper.IsStopping
            && (Volatile.Read(ref _callerWaiters) != 0
                || (_poller.Owner != 0 && Volatile.Read(ref _reaperDemand) == 0 && Volatile.Read(ref _cancelsOwed) == 0)
                || (Volatile.Read(ref _cancelsOwed) == 0
                    && (!NeedsReaper()
                        || (Volatile.Read(ref _reaperDemand) == 0 && ((trustQueued && Volatile.Read(ref _flushQueued) != 0) || NothingInKernel())))));

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
        long distrustedAt = -1; // _flushStarts when a queued work item last lost the reaper's trust
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

            bool trustQueued = Volatile.Read(ref _flushStarts) != distrustedAt; // see MayPark
            if (MayPark(trustQueued))
            {
                lock (_parkLock)
                {
                    // Full fence: pairs with Flush's fence (and AddReaperDemand's) before it reads _parked.
                    Interlocked.Exchange(ref _parked, 1);
                    long rounds = _poller.Rounds;
                    long starts = Volatile.Read(ref _flushStarts);
                    while (MayPark(trustQueued))
                    {
                        int poller = _poller.Owner;
                        if (poller == 0 && !NeedsReaper())
                        {
                            // Idle: no timeout, but a work item that becomes the poller from here on
                            // wakes it to be watched (TryStartPolling). Dekker pair: this exchange,
                            // then the read of _poller; the poller's CAS, then its read of _parked.
                            Interlocked.Exchange(ref _parked, ParkedUntimed);
                            if (_poller.Owner == 0 && !NeedsReaper()) // NeedsReaper: the Dekker pair with FlushAwaited's wake
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

                        // A work item queued all along that has not begun: stop resting on it.
                        long begun = Volatile.Read(ref _flushStarts);
                        if (!pulsed && begun == starts && Volatile.Read(ref _flushQueued) != 0)
                        {
                            distrustedAt = begun;
                            trustQueued = false;
                        }

                        starts = begun;
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
                int errno = -ret;
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
}
