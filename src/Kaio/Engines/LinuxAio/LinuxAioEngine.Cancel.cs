// The Linux AIO engine's cancel: a queued request is dropped with -ECANCELED, a Poll in the
// kernel gets io_cancel, reads and writes run to their end. See the Design comment in
// LinuxAioEngine.cs.
using Kaio.Core;

namespace Kaio.Engines.LinuxAio;

internal sealed unsafe partial class LinuxAioEngine
{
    public override void Cancel(RequestSlot slot)
    {
        if (IsRouted(slot))
        {
            // Submitted there, so the inner engine exists; it registered this callback.
            Volatile.Read(ref _hosted)!.Cancel(slot);
            return;
        }

        lock (_submitLock)
        {
            if ((_states[slot.Tag] & StateMask) == Queued)
            {
                _states[slot.Tag] = Stamp(slot, CancelledQueued); // Flush completes it with -ECANCELED
                return;
            }
        }

        if (slot.Command != IocbCommand.Poll)
        {
            return; // reads, writes and syncs in the kernel cannot be stopped: they finish with their real result
        }

        // io_submit of this poll may be in progress on another thread (a poll's io_submit does
        // not block: aio_poll() only arms a wait queue); wait for it to end so that io_cancel
        // finds the request. The request cannot complete meanwhile: the core holds it in
        // Cancelling until this callback returns.
        SpinWait spin = default;
        int inKernel = Stamp(slot, InKernel);
        int state;
        while ((state = Volatile.Read(ref _states[slot.Tag])) == Stamp(slot, Submitting)) // acquire: pairs with SubmitBatch's CAS
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        if (state != inKernel)
        {
            return;
        }

        // Marked before io_cancel: the kernel may post the cancelled poll's event (res 0, the
        // mangle_poll of no events) and the reaper read it before io_cancel even returns. A poll
        // that completes on its own carries its non-zero revents, so the mark changes nothing
        // for it, whether or not io_cancel found it. Release: pairs with the acquire in Reaped.
        Volatile.Write(ref _states[slot.Tag], Stamp(slot, CancelIssued));
        Interop.io_event result;
        _ = Interop.io_cancel(_ctx, &_iocbs[slot.Tag], &result); // -EINPROGRESS: started; -EINVAL: already done
    }
}
