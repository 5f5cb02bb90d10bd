// Design: Iocb.StartsAfterPrevious — "these writes, then a sync that starts only after they
// completed", in one io_submit. The requests of one Submit call before an ordered request (back
// to the previous ordered one, which is itself one of them) form its group; the ordered request
// is armed (its key issued, cancellable) but held by the core until every member has completed,
// whatever their results (io_uring's IOSQE_IO_DRAIN, scoped to the call), then handed to the
// engine from the thread that completed the last member — delivery holds no engine lock (the
// one-way contract), so entering the engine there is allowed. Done in the core, so every engine
// behaves the same. The count starts at one, the seal, released when the ordered request is
// reached: members completing before that cannot release an empty group.
namespace Kaio.Core;

/// <summary>The requests an ordered request waits for, and the request itself once reached.</summary>
internal sealed class OrderedGroup
{
    private int _pending = 1; // the seal, plus one per member not yet completed: Interlocked

    /// <summary>The ordered request, set before the seal is released.</summary>
    internal RequestSlot? Held;

    /// <summary>The held request completes when it is armed (a Noop, a group-committed flush): no engine.</summary>
    internal bool HeldCompletesAtArm;

    /// <summary>A member joins, before it can complete.</summary>
    internal void Add() => Interlocked.Increment(ref _pending);

    /// <summary>A member completed, or the seal is released; true for the last one: the held request may go.</summary>
    internal bool Release() => Interlocked.Decrement(ref _pending) == 0;
}
