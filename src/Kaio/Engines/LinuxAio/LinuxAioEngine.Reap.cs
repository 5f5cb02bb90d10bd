// The Linux AIO engine's reaping: events read from the mapped aio_ring (or io_getevents) under
// _reapLock and delivered after it is released (the one-way contract); the reaper thread on
// the eventfd, and its parking. See the Design comment in LinuxAioEngine.cs.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kaio.Core;

namespace Kaio.Engines.LinuxAio;

internal sealed unsafe partial class LinuxAioEngine
{
    // The stackalloc'd scratch is written before it is read (only its first n entries are read):
    // not zeroing it saves a 1.5-2 KB memset per call on the per-request path.
    [SkipLocalsInit]
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
            if (n == -Errno.EINTR)
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
        RequestSlot? slot = (uint)tag < (uint)_capacity ? Completer.SlotOf(tag) : null;
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
                int errno = -Interop.LastRes();
                if (errno != Errno.EINTR)
                {
                    ReaperThread.Fail("Linux AIO reaper poll(eventfd) failed: " + Errno.Name(errno));
                }
            }
        }
    }
}
