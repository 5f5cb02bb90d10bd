namespace Kaio.Engines;

/// <summary>
/// The Dekker pair between an engine's thread-pool work items (the awaiters' poller) and its
/// Dispose: a work item counts itself in (<see cref="Enter"/>), then reads the closing flag; Dispose
/// sets the flag, then waits for the count to drain (<see cref="CloseAndWait"/>) — both through full
/// fences, so either Dispose waits for the item or the item sees the flag and touches nothing (the
/// ring or the kernel context is about to go). A continuation that an item runs inline may itself
/// dispose the context: Dispose then does not wait for the item it is called from, and that item
/// stops at its next look at <see cref="IsClosing"/>.
/// </summary>
internal sealed class WorkItemDrain
{
    private int _active;           // work items running now: Interlocked
    private volatile bool _closing;

    /// <summary>Dispose has begun: a work item touches nothing from here on.</summary>
    public bool IsClosing => _closing;

    /// <summary>At the start of a work item: false when Dispose has begun. Pair every call with <see cref="Exit"/>.</summary>
    public bool Enter()
    {
        Interlocked.Increment(ref _active);
        return !_closing;
    }

    /// <summary>At the end of a work item, whatever <see cref="Enter"/> answered.</summary>
    public void Exit() => Interlocked.Decrement(ref _active);

    /// <summary>
    /// Dispose: closes, then waits for the running work items, except the one this call comes from
    /// (<paramref name="fromInsideOne"/>: a continuation it ran inline is disposing the context).
    /// </summary>
    public void CloseAndWait(bool fromInsideOne)
    {
        _closing = true;
        Interlocked.MemoryBarrier();
        int self = fromInsideOne ? 1 : 0;
        SpinWait spin = default;
        while (Volatile.Read(ref _active) != self)
        {
            spin.SpinOnce();
        }
    }
}
