// Design: io_destroy, in seed 004's order. Mark dead (one exchange) → remove from the table →
// kill the user count so no reference can be taken, and wake GetEvents waiters so they leave →
// drop the initial reference and wait for every caller inside the API to leave (after this no
// submit can start) → cancel every outstanding request → wait until every accepted request has
// been delivered (pins released after the engine is done) → stop the engine → free. A second
// or concurrent Dispose waits for the first to finish, so that for every caller, "Dispose
// returned" means no engine will touch a buffer of this context again. Dispose must not be
// called from a completion callback of the same context (it would wait for itself).
// fs/aio.c: kill_ioctx(), free_ioctx_users(), free_ioctx_reqs(), free_ioctx().
using Kaio.Core;

namespace Kaio;

public sealed partial class AioContext
{
    private readonly TaskCompletionSource _destroyed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// io_destroy(2): cancels every outstanding request, waits until each has completed, and
    /// frees the context. Idempotent. Events not yet reaped are discarded, as the kernel does.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from one of this context's own completion callbacks.</exception>
    public void Dispose()
    {
        if (!KillIoctx())
        {
            _destroyed.Task.Wait();
            return;
        }

        _users.Zero.Wait();
        CancelAll();
        while (true)
        {
            // Event-driven: the delivery that makes the last slot idle completes the signal
            // (DeliveredOne's Dekker pair); there is no periodic rescan.
            TaskCompletionSource signal = PublishDrainSignal();
            if (InFlight == 0)
            {
                break;
            }

            signal.Task.Wait();
        }

        FreeIoctx();
    }

    /// <summary>
    /// io_destroy(2) that awaits the callers still inside the API and the outstanding requests
    /// instead of blocking a thread (only the engine's own stop, a thread join, is synchronous).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (!KillIoctx())
        {
            await _destroyed.Task.ConfigureAwait(false);
            return;
        }

        await _users.Zero.ConfigureAwait(false);
        CancelAll();
        while (true)
        {
            TaskCompletionSource signal = PublishDrainSignal();
            if (InFlight == 0)
            {
                break;
            }

            await signal.Task.ConfigureAwait(false);
        }

        FreeIoctx();
    }

    /// <summary>
    /// fs/aio.c: kill_ioctx(). Marks the context dead, unlists it, wakes every waiter and drops
    /// the initial reference; false when another teardown already began. The caller then waits
    /// for the users to leave (<see cref="RefCount.Zero"/>) and cancels what is outstanding.
    /// </summary>
    private bool KillIoctx()
    {
        if (ReferenceEquals(s_inCallbackOf, this))
        {
            // Teardown waits for every completion, this callback's included: it would wait forever.
            throw new InvalidOperationException("An AioContext cannot be disposed from one of its own completion callbacks.");
        }

        if (Interlocked.Exchange(ref _dead, 1) != 0)
        {
            return false;
        }

        s_table.TryRemove(Id, out _);
        _engine.AddReaperDemand(1); // for good: teardown's drain needs every completion delivered
        FailSlotWaiters();
        _users.Kill();
        WakeWaiters();
        lock (_waitLock)
        {
            Monitor.PulseAll(_waitLock); // waiters that registered after WakeWaiters read _waiters
        }

        // Drop the initial reference; the caller waits for the callers still inside (the seed's
        // synchronize_rcu() + percpu_ref_kill(): after that no submit can start).
        _users.Put();
        return true;
    }

    /// <summary>free_ioctx_reqs(): cancels everything outstanding (after every user left).</summary>
    private void CancelAll()
    {
        foreach (RequestSlot[]? page in _pages)
        {
            if (page is null)
            {
                continue;
            }

            foreach (RequestSlot slot in page)
            {
                SlotState state = slot.State;
                if (state is SlotState.Armed or SlotState.Callback)
                {
                    slot.TryCancel(slot.Key);
                }
            }
        }
    }

    private TaskCompletionSource PublishDrainSignal()
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Full fence: publish, then scan the slots; a delivery after the scan sees the signal.
        Interlocked.Exchange(ref _drainSignal, signal);
        return signal;
    }

    /// <summary>fs/aio.c: free_ioctx(). Every request has been delivered: stop the engine and free.</summary>
    private void FreeIoctx()
    {
        try
        {
            _engine.Dispose();
        }
        finally
        {
            foreach (RequestSlot[]? page in _pages)
            {
                if (page is null)
                {
                    continue;
                }

                foreach (RequestSlot slot in page)
                {
                    slot.FreeNative();
                }
            }

            _limits.Release(Capacity);
            _destroyed.TrySetResult();
        }
    }
}
