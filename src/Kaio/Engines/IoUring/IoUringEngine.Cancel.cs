// The io_uring engine's cancel: IORING_OP_ASYNC_CANCEL by user_data, never from inside another
// call of this engine. See the Design comment in IoUringEngine.cs.
using Kaio.Core;

namespace Kaio.Engines.IoUring;

internal sealed unsafe partial class IoUringEngine
{
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
}
