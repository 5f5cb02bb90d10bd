// The io_uring engine's waiting: GetEvents callers wait in io_uring_enter(GETEVENTS) on their own
// thread and reap what woke them; WakeWaiters ends such a wait with a NOP for an event that reached
// Kaio's ring another way. See the Design comment in IoUringEngine.cs.

namespace Kaio.Engines.IoUring;

internal sealed unsafe partial class IoUringEngine
{
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
        IoUringEngine? outer = s_reapingForOwnWait;
        s_reapingForOwnWait = this; // what this thread delivers now, it reads itself: no wake NOP for it
        try
        {
            _ = TryReap();
        }
        finally
        {
            s_reapingForOwnWait = outer;
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
        if (Volatile.Read(ref _callerWaiters) == 0 || s_reapingForOwnWait == this)
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
}
