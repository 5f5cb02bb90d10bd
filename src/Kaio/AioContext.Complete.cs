// Design: aio_complete. An engine reports a request's end with Complete(key, res, res2); the
// CAS into Completed (RequestSlot.TryComplete) is the only gate, so whoever wins among the
// engine, a duplicate, a stale key, or a cancel, the request is delivered exactly once. Delivery
// then goes one of three ways:
//   - the ring (libaio style): unpin, free the tag, publish the event, wake waiters, signal the
//     eventfd; the budget comes back when the event is reaped (refill_reqs_available);
//   - an awaiter: unpin, set the value-task source; tag and budget come back in GetResult;
//   - a user callback: unpin, run it on the thread pool (or the device queue if it blocks),
//     then free tag and budget.
// A step that blocks (the fdatasync/fsync behind a DSYNC/SYNC write or a flush, group-committed,
// or a blocking callback) runs on the device's deferred work queue first (seed 003), never on
// the engine's reaping thread. Pins and handle references are released only here, at the final
// completion, never when a cancel is merely requested.
// fs/aio.c: aio_complete(), refill_reqs_available(); fs/direct-io.c: dio_complete() deferral.
using System.Diagnostics;
using Kaio.Core;
using Kaio.Diagnostics;
using Kaio.Engines;

namespace Kaio;

public sealed partial class AioContext
{
    /// <summary>The context whose completion callback this thread is running (Dispose from inside it would wait for itself).</summary>
    [ThreadStatic]
    private static AioContext? s_inCallbackOf;

    bool IRequestCompleter.Complete(ulong key, long res, long res2) => CompleteRequest(key, res, res2);

    RequestSlot? IRequestCompleter.SlotOf(int tag) => SlotAt(tag);

    /// <summary>fs/aio.c: aio_complete(). Called by engines on any thread.</summary>
    internal bool CompleteRequest(ulong key, long res, long res2)
    {
        Debug.Assert(!_engine.HoldsLockOnCurrentThread, "an engine delivered a completion while holding its own lock");
        RequestSlot? slot = SlotAt(RequestKey.TagOf(key));
        if (slot is null || !slot.TryComplete(key))
        {
            return false; // stale or duplicate: the generation kept it from a newer request
        }

        slot.Res = res;
        slot.Res2 = res2;

        if ((slot.NeedsDeferredSync && res >= 0) || (slot.Callback is not null && slot.CallbackIsBlocking))
        {
            DeferredWorkQueue.ForDevice(slot.Device).Queue(slot);
            return true;
        }

        Deliver(slot);
        return true;
    }

    /// <summary>
    /// The end of a deferred completion, on the device's work queue: the group's sync (if this
    /// request needed one) has returned and set its result; deliver, or run the blocking callback.
    /// </summary>
    internal void RunDeferred(RequestSlot slot) => Deliver(slot);

    private void Deliver(RequestSlot slot)
    {
        // A member of an ordered request's group (Iocb.StartsAfterPrevious): once its event is
        // out, the last member hands that request on, so its event always follows theirs.
        OrderedGroup? group = slot.Group;
        slot.Group = null;
        // Before the result is out: once delivered, an awaiter may free and reuse the slot.
        KaioMetrics.OnCompleted(_engineName, slot);
        DeliverOne(slot);
        if (group is not null && group.Release())
        {
            HandOffHeld(group);
        }
    }

    private void DeliverOne(RequestSlot slot)
    {
        AssertNotFree(slot);
        var ev = new IoEvent(slot.Data, slot.Key, slot.Res, slot.Res2);
        if (slot.IsAwaitable)
        {
            CancellationTokenRegistration registration = slot.TokenRegistration;
            slot.TokenRegistration = default;
            // Dispose waits for a running token callback; ours never blocks on this request
            // (TryCancel sees Completed and returns), so this cannot deadlock.
            registration.Dispose();
            slot.Unpin();
            int result = (int)Math.Clamp(slot.Res, int.MinValue, int.MaxValue);
            // Full fence (teardown's Dekker pair, see DeliveredOne): the engine and the pins are finished.
            Interlocked.Exchange(ref slot.Delivered, true);
            // After this the awaiter may free the slot at once; an inline continuation (an engine's
            // coalescing work item delivering) has even run by the time it returns.
            slot.SetAwaitResult(result, AioEngine.InlineContinuations);
            DeliveredOne();
            return;
        }

        IIoCompletionCallback? callback = slot.Callback;
        if (callback is not null)
        {
            if (slot.CallbackIsBlocking || slot.CallbackRunsInline)
            {
                // Blocking: already on the device's work queue (RunDeferred). Inline: on the
                // delivering thread, which holds no engine lock (the one-way contract). Run it here.
                FinishCallback(slot, callback, ev);
            }
            else
            {
                ThreadPool.UnsafeQueueUserWorkItem(slot, preferLocal: false);
            }

            return;
        }

        SafeHandle? eventFd = slot.EventFdRef;
        slot.EventFdRef = null;
        slot.Unpin();
        FreeSlot(slot);
        // Publish after the tag is free: the budget (returned when this event is reaped) must
        // never run ahead of the tags, or a submit could hold budget and find no tag.
        _ring.Enqueue(ev);
        WakeWaiters();
        if (eventFd is not null)
        {
            SignalEventFd(eventFd);
            eventFd.DangerousRelease();
        }

        DeliveredOne();
    }

    /// <summary>Runs a non-blocking user callback (thread-pool work item).</summary>
    internal void RunCallback(RequestSlot slot)
    {
        IIoCompletionCallback callback = slot.Callback!;
        FinishCallback(slot, callback, new IoEvent(slot.Data, slot.Key, slot.Res, slot.Res2));
    }

    private void FinishCallback(RequestSlot slot, IIoCompletionCallback callback, IoEvent ev)
    {
        SafeHandle? eventFd = slot.EventFdRef;
        slot.EventFdRef = null;
        slot.Unpin();
        AioContext? outer = s_inCallbackOf;
        s_inCallbackOf = this;
        try
        {
            callback.OnCompleted(in ev);
        }
        finally
        {
            s_inCallbackOf = outer;
            FreeSlot(slot);
            PutReqs(1);
            if (eventFd is not null)
            {
                SignalEventFd(eventFd);
                eventFd.DangerousRelease();
            }

            DeliveredOne();
        }
    }

    /// <summary>GetResult of an awaited request: the slot goes back to the pool with its budget.</summary>
    internal void ReturnAwaitedSlot(RequestSlot slot)
    {
        slot.ResetAwait();
        slot.Token = default;
        slot.AwaitedHandle = null;
        FreeSlot(slot);
        PutReqs(1);
    }

    private void FreeSlot(RequestSlot slot)
    {
        int tag = slot.Tag;
        slot.Release();
        _tags.Free(tag);
    }

    private void DeliveredOne()
    {
        // Teardown's wake-up, a Dekker pair: teardown publishes its signal (a full fence), then
        // scans the slots; a delivery makes its slot idle, passes a full fence, then reads the
        // signal — so either the scan sees the slot idle or the delivery sees the signal, and
        // teardown needs no periodic rescan. The fence is one every path already has: the ring's
        // enqueue CAS (after FreeSlot), PutReqs' Interlocked.Add (callbacks, after FreeSlot), the
        // Interlocked.Exchange of Delivered (awaitables). No fence is added for this read.
        Volatile.Read(ref _drainSignal)?.TrySetResult();
    }

    private static unsafe void SignalEventFd(SafeHandle eventFd)
    {
        ulong one = 1;
        nint rc;
        do
        {
            rc = Interop.write((int)eventFd.DangerousGetHandle(), &one, sizeof(ulong));
        }
        while (rc < 0 && Interop.LastRes() == -Errno.EINTR);

        Debug.Assert(rc == sizeof(ulong) || rc < 0);
    }
}
