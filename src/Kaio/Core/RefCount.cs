// Design: the context's user count, a percpu_ref in miniature: callers inside the API take a
// reference for the duration of the call; Kill() sets the dead bit in the same word, after
// which TryGet fails, so no new reference can be taken once teardown has begun (seed 004). The
// initial reference belongs to the context and is dropped by teardown after Kill. When the
// count reaches zero with the dead bit set, Zero completes (awaitable: teardown never blocks on it).
// fs/aio.c: percpu_ref_tryget_live(), percpu_ref_kill(), percpu_ref_put().
namespace Kaio.Core;

internal sealed class RefCount
{
    private const long DeadBit = 1L << 62;

    // Count in the low bits, DeadBit on top; moved by CAS (TryGet), Interlocked (Put, Kill).
    private long _word = 1; // the initial reference
    // Completed once the count reaches zero with the dead bit set; awaited or waited on.
    private readonly TaskCompletionSource _zero = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal bool TryGet()
    {
        long word = Volatile.Read(ref _word);
        while ((word & DeadBit) == 0)
        {
            long seen = Interlocked.CompareExchange(ref _word, word + 1, word);
            if (seen == word)
            {
                return true;
            }

            word = seen;
        }

        return false;
    }

    internal void Put()
    {
        long now = Interlocked.Decrement(ref _word);
        if (now == DeadBit)
        {
            _zero.TrySetResult();
        }
    }

    /// <summary>Sets the dead bit; true for the one caller that set it.</summary>
    internal bool Kill() => (Interlocked.Or(ref _word, DeadBit) & DeadBit) == 0;

    /// <summary>Completes when every reference, the initial one included, has been put (after <see cref="Kill"/>).</summary>
    internal Task Zero => _zero.Task;
}
