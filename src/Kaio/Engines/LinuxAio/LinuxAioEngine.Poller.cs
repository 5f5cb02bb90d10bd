// Awaiters on Linux AIO: the kernel's AIO has no "submit and wait" call of the shape io_uring_enter
// has, but io_submit plus io_getevents makes the same loop (fio's libaio engine is that loop).
// An O_DIRECT read awaited by a task used to complete as: the kernel signals the eventfd → the
// reaper thread wakes, reaps, queues the continuation to the thread pool → a pool thread wakes,
// runs it, and the continuation's next ReadAsync calls io_submit. Two wake-ups and a queue hop per
// read: 12.7 µs of CPU per read at 32 tasks against fio io_uring's 5.4 (bench/README.md).
//
// Now, as on io_uring (IoUringEngine.FlushAwaited), a thread-pool work item does what fio's job
// thread does: io_submit for what the awaiters queued, reap, run each continuation inline (it
// queues its next read and returns), and while requests are in the kernel and the pool has
// nothing else to do, wait in io_getevents for up to PollWaitMs and go round again. The reaper
// parks meanwhile, watching the poller: one that makes no round for PollerRole.StallMs (a continuation
// that blocks) loses its role and the reaper reaps again.
//
// Only signalled requests (IOCB_FLAG_RESFD: O_DIRECT reads and writes, syncs, polls) take this
// path. A buffered read or write is done by io_submit itself, synchronously, on the thread that
// calls it (see the Design comment in LinuxAioEngine.cs): those are submitted at once on the
// awaiter's thread, as many at a time as there are awaiting threads; batched on one work item
// they would run one after another.
using Kaio.Core;

namespace Kaio.Engines.LinuxAio;

internal sealed unsafe partial class LinuxAioEngine
{
    private const int PollWaitMs = 1;

    public override void FlushAwaited(RequestSlot slot, bool alone)
    {
        bool signalled = !IsRouted(slot) && !IsQuiet(slot);
        if (!signalled || !Thread.CurrentThread.IsThreadPoolThread)
        {
            Flush();
            return;
        }

        if (s_flushing == this)
        {
            // A continuation the work item runs inline, on its thread. It is submitted here, not
            // left for the work item's loop to submit when the continuation returns: a continuation
            // that then blocks until this request completes (sync over async, or the context's
            // Dispose, which waits for it) would never return, and nobody else submits the queue
            // (ConformanceTests.AContinuationThat...: both hung before). libaio:await 32 O_DIRECT
            // 80.2k vs 81.2k IOPS, both at ~59 % CPU (medians of 10). Not reaped here: the work
            // item's loop, or the reaper if the continuation blocks, delivers it — never nested
            // inside this continuation.
            SubmitQueued(reap: false);
            return;
        }

        if (!alone)
        {
            // Other awaited requests are outstanding: one work item submits for all of them and
            // runs their continuations. Full fence (CAS) after the tag was queued: pairs with the
            // work item's exchange of _flushQueued before it takes the queue, so either it sees
            // this request or this CAS sees 0 and queues another. The global queue (FIFO), as on
            // io_uring: queued locally, the same loop would go on on this thread.
            if (Interlocked.CompareExchange(ref _flushQueued, 1, 0) == 0)
            {
                System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }

            return;
        }

        // Alone: submitted at once. It is in the kernel now (O_DIRECT): a work item polls for it
        // and runs its continuation, which submits the next read into that loop (fio's QD1).
        Flush();
        if (Volatile.Read(ref _signalledInFlight) > 0 && Interlocked.CompareExchange(ref _flushQueued, 1, 0) == 0)
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
        }
    }

    /// <summary>A buffered read or write of this engine's own: io_submit completes it (see the Design comment).</summary>
    private static bool IsQuiet(RequestSlot slot)
        => slot.Command is IocbCommand.Pread or IocbCommand.Pwrite or IocbCommand.Preadv or IocbCommand.Pwritev && !slot.IsDirect;

    /// <summary>The awaiters' work item (see the comment at the top of this file).</summary>
    void IThreadPoolWorkItem.Execute()
    {
        // Dekker pair with Dispose (WorkItemDrain): either it waits for this item or this item
        // touches nothing.
        bool open = _drain.Enter();
        LinuxAioEngine? outer = s_flushing;
        s_flushing = this;
        try
        {
            if (!open)
            {
                return;
            }

            Interlocked.Exchange(ref _flushQueued, 0); // an awaiter that queues from now on queues a new work item
            while (true)
            {
                SubmitQueued(reap: false);
                if (!ReapInline())
                {
                    return; // a continuation disposed the context, and with it this engine
                }

                if (Volatile.Read(ref _queueCount) != 0)
                {
                    continue; // the continuations above queued their next requests
                }

                if (!TryStartPolling())
                {
                    break;
                }

                _poller.Round(); // the reaper's stall check reads it
                int polled = PollOnce();
                if (polled < 0)
                {
                    return; // a continuation disposed the context
                }

                if (polled == 0)
                {
                    break; // nothing completed within PollWaitMs: the reaper takes over
                }
            }
        }
        finally
        {
            StopPolling(); // a no-op if this item did not poll; touches no kernel object
            s_flushing = outer;
            _drain.Exit();
        }
    }

    /// <summary>Becomes (or stays) the poller if polling is worth it now.</summary>
    private bool TryStartPolling()
    {
        if (_poller.IsMine)
        {
            return MayKeepPolling();
        }

        if (!MayKeepPolling() || !_poller.TryTake())
        {
            return false;
        }

        // A reaper resting without a timeout would not watch this poller for a stall (MayParkIdle
        // reads the poller, taken by the CAS above).
        UnparkIfIdle();

        return true;
    }

    // While signalled requests are in the kernel (none is queued: the loop submitted them), no
    // other work item is queued, the pool has nothing waiting for a thread (this one is needed),
    // and no GetEvents caller wants to wait in io_getevents (it would wait for _reapLock).
    private bool MayKeepPolling()
        => !_drain.IsClosing
            && Volatile.Read(ref _callerWaiters) == 0
            && Volatile.Read(ref _signalledInFlight) > 0
            && Volatile.Read(ref _flushQueued) == 0
            && System.Threading.ThreadPool.PendingWorkItemCount == 0;

    /// <summary>Ends this work item's poll, if it polled, and gives the reaper its role back.</summary>
    private void StopPolling()
    {
        // Dekker pair with WatchPoller: this CAS, then the read of _parked; the reaper's exchange
        // of _parked, then its read of the poller.
        if (_poller.Release() && Volatile.Read(ref _parked) != 0)
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

    /// <summary>
    /// One wait in the kernel for an event, up to PollWaitMs: io_getevents(min_nr = 1, nr = 1), the
    /// wait fio's libaio engine makes, so a read costs io_submit and io_getevents (a wait on the
    /// eventfd cost a poll and a read besides: at one task 13.4-14.9k reads/s against fio's
    /// 14.4-15.9k). The one event it takes is delivered inline. 1 when something came (or another
    /// thread reaps), 0 when nothing did, -1 when a continuation disposed the context. The eventfd
    /// is left alone: its count still wakes the reaper when this item stops.
    /// </summary>
    private int PollOnce()
    {
        if (!_reapLock.TryEnter())
        {
            Thread.Yield();
            return 1; // a caller's TryReap, or the reaper, holds the ring for a moment: look again
        }

        Completion one = default;
        long n;
        try
        {
            Interop.timespec ts = new() { tv_sec = 0, tv_nsec = PollWaitMs * 1_000_000L };
            Interop.io_event ev;
            // Under _reapLock: the kernel moves the ring's head, which no one else may move now.
            n = Interop.io_getevents(_ctx, 1, 1, &ev, &ts); // 0 on timeout; -EINTR on a signal
            if (n == 1 && IsWake(ev.data))
            {
                return 1; // the wake request (for a caller): look again
            }

            if (n == 1)
            {
                one = Reaped(ev.data, ev.res, ev.res2);
            }
        }
        finally
        {
            _reapLock.Exit();
        }

        if (n != 1)
        {
            return RingHasEvents() ? 1 : 0;
        }

        if (Volatile.Read(ref _queueCount) != 0)
        {
            SubmitQueued(reap: false);
        }

        DeliverInline(in one);
        return _drain.IsClosing ? -1 : 1;
    }

    /// <summary>An event is in the ring (acquire, as in TryReap); true when the ring cannot be read (io_getevents tells).</summary>
    private bool RingHasEvents() => _ring == null || Volatile.Read(ref _ring->tail) != Volatile.Read(ref _ring->head);

    /// <summary>
    /// Reaps one event at a time and delivers it with its continuation inline: nothing reaped is
    /// held while a continuation runs (it may block, or dispose the context). What earlier
    /// continuations queued is submitted before the next one runs. False when a continuation
    /// disposed this engine.
    /// </summary>
    private bool ReapInline()
    {
        Completion one = default;
        while (RingHasEvents())
        {
            if (!_reapLock.TryEnter())
            {
                return true; // the reaper (having revoked this poller) or a caller reaps: they deliver
            }

            int n;
            try
            {
                n = ReapLocked(new Span<Completion>(ref one));
            }
            finally
            {
                _reapLock.Exit();
            }

            if (n == 0)
            {
                return true;
            }

            if (Volatile.Read(ref _queueCount) != 0)
            {
                SubmitQueued(reap: false);
            }

            DeliverInline(in one);
            if (_drain.IsClosing)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The reaper rests while a poller polls, but not for longer than the poller keeps making
    /// rounds: one stuck in a continuation loses the role (it takes it again, if free, when it
    /// comes back), and the reaper reaps again.
    /// </summary>
    private void WatchPoller()
    {
        lock (_parkLock)
        {
            Interlocked.Exchange(ref _parked, ParkedWatching); // full fence: pairs with StopPolling's CAS
            long rounds = _poller.Rounds;
            int poller;
            while ((poller = _poller.Owner) != 0 && !_reaper.IsStopping)
            {
                bool pulsed = Monitor.Wait(_parkLock, PollerRole.StallMs);
                _poller.RevokeIfStalled(poller, pulsed, ref rounds);
            }

            Volatile.Write(ref _parked, 0);
        }
    }
}
