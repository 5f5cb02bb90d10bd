// Design: io_cancel, with seed 002's semantics rather than today's kernel's (which cancels only
// POLL and answers -EINPROGRESS). Cancel only asks and never blocks: the key names a slot in
// O(1) (tag → page → slot) and the slot's CAS state machine decides. A request that had not
// started is cancelled for sure (an engine checks the mark at dequeue); one in flight is
// stopped through its engine's callback where the engine has one, or marked and left to finish.
// Either way it completes exactly once, through the normal path, with -ECANCELED if the cancel
// took, or its real result if it finished first. fs/aio.c: SYSCALL_DEFINE3(io_cancel),
// lookup_kiocb(), kiocb_cancel().
using Kaio.Core;

namespace Kaio;

public sealed partial class AioContext
{
    /// <summary>
    /// io_cancel(2): asks the request named by <paramref name="key"/> to stop. Returns at once;
    /// the request still completes exactly once — with -ECANCELED when the cancel took effect,
    /// or with its real result when it finished first.
    /// </summary>
    /// <remarks>
    /// A deliberate departure from today's kernel, which can cancel only Poll and answers
    /// EINPROGRESS: Kaio follows seed 002, where any request can be cancelled.
    /// </remarks>
    /// <exception cref="AioException">EINVAL: no outstanding request has this key (unknown, stale, or already completed).</exception>
    /// <exception cref="ObjectDisposedException">The context is disposed (the kernel's EINVAL).</exception>
    public void Cancel(ulong key)
    {
        if (!TryCancel(key))
        {
            ThrowHelper.ThrowAio(Errno.EINVAL, $"io_cancel: no outstanding request with key 0x{key:x}");
        }
    }

    /// <summary>io_cancel(2) for a submitted <paramref name="iocb"/> (by its <see cref="Iocb.Key"/>).</summary>
    /// <exception cref="AioException">EINVAL: the iocb names no outstanding request.</exception>
    /// <exception cref="ObjectDisposedException">The context is disposed.</exception>
    public void Cancel(in Iocb iocb) => Cancel(iocb.Key);

    /// <summary>As <see cref="Cancel(ulong)"/>, answering false instead of throwing when the key names no outstanding request.</summary>
    /// <exception cref="ObjectDisposedException">The context is disposed.</exception>
    public bool TryCancel(ulong key)
    {
        if (!TryEnter())
        {
            ThrowHelper.ThrowDisposed();
        }

        try
        {
            return CancelKey(key);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>fs/aio.c: lookup_kiocb() + kiocb_cancel(), without the user reference.</summary>
    private bool CancelKey(ulong key)
    {
        RequestSlot? slot = SlotAt(RequestKey.TagOf(key));
        return slot is not null && slot.TryCancel(key);
    }

    /// <summary>The CancellationToken callback of an awaited request: never blocks.</summary>
    private static readonly Action<object?> s_cancelFromToken = static state =>
    {
        var slot = (RequestSlot)state!;
        slot.TryCancel(slot.Key);
    };
}
