// Design: what the awaitable face does when the context is full. Submit keeps io_submit's answer
// (EAGAIN); ReadAsync/WriteAsync/FlushAsync of a context set up with AioFullBehavior.Wait instead
// wait, asynchronously, for a slot, so that any number of concurrent tasks can use a context of
// bounded Capacity the way they use RandomAccess.
//
// Waiters queue in FIFO order. A budget unit that comes back (PutReqs: the one place units return
// — an awaited result consumed, a callback finished, events reaped, a refused submit undone) goes
// straight to the oldest live waiter, who then submits with that unit already owned; a new call
// does not take the fast path while anyone waits, so nobody can overtake the queue. A waiter whose
// token is cancelled completes with OperationCanceledException and leaves a dead entry that the next
// hand-off skips. Dispose fails every waiter with ObjectDisposedException.
// Threading: _slotWaiters under _slotWaitLock. _slotWaiterCount counts queued entries (dead ones
// too until skipped); PutReqs reads it after returning the unit (Interlocked in ReqsAvailable.Put:
// full fence), a waiter increments it before its last TryGet (full fence): either the waiter sees
// the unit, or PutReqs sees the waiter — a Dekker pair, so no unit is stranded while someone waits.
// Cost when nobody waits: one volatile read per returned unit; the waiting path allocates (one
// waiter and its async state), only while the context is full.
using Kaio.Core;
using Kaio.Diagnostics;

namespace Kaio;

/// <summary>What <see cref="AioContext.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)">AioContext.ReadAsync</see>, <see cref="AioContext.WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, AioRwFlags, CancellationToken)">AioContext.WriteAsync</see> and <see cref="AioContext.FlushAsync"/> do when the context is full.</summary>
public enum AioFullBehavior
{
    /// <summary>Throw <see cref="AioException"/> with EAGAIN, as io_submit refuses (the default).</summary>
    Refuse = 0,

    /// <summary>Wait asynchronously, in FIFO order, for a slot; the call's token cancels the wait.</summary>
    Wait,
}

public sealed partial class AioContext
{
    private readonly bool _waitWhenFull;
    private readonly Lock _slotWaitLock = new();
    private readonly Queue<SlotWaiter> _slotWaiters = new(); // guarded by _slotWaitLock
    private int _slotWaiterCount;                             // Interlocked; see the Design comment

    /// <summary>Calls waiting for a slot (<see cref="AioFullBehavior.Wait"/>), cancelled ones included until they are skipped.</summary>
    public int SlotWaiters => Volatile.Read(ref _slotWaiterCount);

    /// <summary>fs/aio.c: put_reqs_available() — returns budget, handing it to the oldest waiter first.</summary>
    private void PutReqs(int n)
    {
        _reqs.Put(n);
        // Full fence in Put before this read: pairs with the Interlocked.Increment in WaitForBudgetAsync.
        if (Volatile.Read(ref _slotWaiterCount) != 0)
        {
            HandOffBudget();
        }
    }

    private void HandOffBudget()
    {
        lock (_slotWaitLock)
        {
            while (_slotWaiters.Count > 0 && _reqs.TryGet())
            {
                bool handed = false;
                while (_slotWaiters.TryDequeue(out SlotWaiter? waiter))
                {
                    Interlocked.Decrement(ref _slotWaiterCount);
                    if (waiter.TrySetResult(true)) // its continuation runs elsewhere (RunContinuationsAsynchronously)
                    {
                        handed = true;
                        break;
                    }
                }

                if (!handed)
                {
                    _reqs.Put(1); // only dead entries were left
                    break;
                }
            }
        }
    }

    /// <summary>Completes owning one budget unit; OperationCanceledException or ObjectDisposedException otherwise.</summary>
    private async ValueTask WaitForBudgetAsync(CancellationToken cancellationToken)
    {
        var waiter = new SlotWaiter();
        lock (_slotWaitLock)
        {
            if (IsDisposed)
            {
                ThrowHelper.ThrowDisposed(); // Dispose drains the queue after marking dead, under this lock
            }

            Interlocked.Increment(ref _slotWaiterCount);
            if (_slotWaiters.Count == 0 && _reqs.TryGet())
            {
                Interlocked.Decrement(ref _slotWaiterCount);
                return;
            }

            _slotWaiters.Enqueue(waiter);
        }

        KaioMetrics.OnWaited(_engineName);

        CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
            static (state, token) => ((SlotWaiter)state!).TrySetCanceled(token), waiter);
        try
        {
            await waiter.Task.ConfigureAwait(false);
        }
        finally
        {
            // Never blocks: the callback only completes the waiter.
            await registration.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The slow path of an awaitable call on a full context: wait for a unit, then submit with it.</summary>
    private async ValueTask<int> WaitThenSubmitAsync(Iocb cb, CancellationToken cancellationToken)
    {
        await WaitForBudgetAsync(cancellationToken).ConfigureAwait(false);
        RequestSlot slot = SubmitAwaitableSlot(ref cb, haveBudget: true, cancellationToken, out short version)!; // refusals throw; the unit goes back
        return await new ValueTask<int>(slot, version).ConfigureAwait(false);
    }

    /// <summary>The slow path of a vectored awaitable call on a full context (the iocb owns copies of its vector arrays).</summary>
    private async ValueTask<long> WaitThenSubmitVectoredAsync(Iocb cb, CancellationToken cancellationToken)
    {
        await WaitForBudgetAsync(cancellationToken).ConfigureAwait(false);
        RequestSlot slot = SubmitAwaitableSlot(ref cb, haveBudget: true, cancellationToken, out short version)!; // refusals throw; the unit goes back
        return await new ValueTask<long>(slot, version).ConfigureAwait(false);
    }

    /// <summary>Teardown: every waiter fails with ObjectDisposedException (called after the context is marked dead).</summary>
    private void FailSlotWaiters()
    {
        lock (_slotWaitLock)
        {
            while (_slotWaiters.TryDequeue(out SlotWaiter? waiter))
            {
                Interlocked.Decrement(ref _slotWaiterCount);
                waiter.TrySetException(new ObjectDisposedException(nameof(AioContext), "The AIO context has been destroyed (EINVAL)."));
            }
        }
    }

    private sealed class SlotWaiter() : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
}
