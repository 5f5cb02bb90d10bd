// Design: the engine interface. An engine runs prepared requests (RequestSlot) and reports each
// one's end exactly once through IRequestCompleter.Complete(key, res, res2). Everything the
// kernel's fs/aio.c does around the file operation (budget, tags, cancel state, ring, teardown)
// lives in the core; an engine only does the I/O, the way f_op->read_iter does for aio_read().
//
// Threading contract:
//  - Submit/Flush are called by submitting threads, concurrently; an engine that needs a single
//    submitter serialises internally.
//  - Cancel(slot) is the cancel callback (the seed's ki_cancel): the core calls it at most once
//    per request, only after the engine registered it with slot.TrySetCancelCallback(), and
//    never after completion of that request returned, and never from inside another call of the
//    same engine (a cancel asked before registration is answered CancelAsked, and the engine
//    stops the request itself). It must not block and must not complete the request itself: the
//    request still ends through Complete().
//  - Complete(key, ...) may be called on any thread, including inside Submit (the null engine, a
//    request cancelled before the engine registered it), but never while the engine holds one of
//    its own locks: an engine reaps a batch under its lock, releases it, then delivers (Deliver).
//    Delivery may call back into the engine (WakeWaiters, Submit from a callback), so it must find
//    every engine lock free: the one-way contract.
//  - Dispose is called once, by teardown, after every submitted request has completed.
using System.Diagnostics;
using Kaio.Core;

namespace Kaio.Engines;

/// <summary>What an engine does natively; shared code branches on these, never on the engine's type.</summary>
[Flags]
internal enum EngineFeatures
{
    None = 0,
    /// <summary>RWF_DSYNC and RWF_SYNC are done by the engine (used for O_DIRECT writes; buffered ones are group-committed); otherwise the core defers an fdatasync/fsync.</summary>
    NativeSyncFlags = 1 << 0,
    /// <summary>Completions are harvested by <see cref="AioEngine.TryReap"/> on the caller's thread when one waits.</summary>
    ReapOnCaller = 1 << 1,
    /// <summary>The engine does real I/O, so DSYNC/SYNC writes and flushes on buffered files are group-committed (the null engine does none).</summary>
    RealIo = 1 << 3,
    /// <summary>GetEvents may wait inside the engine (<see cref="AioEngine.WaitForCompletions"/>) instead of for a hand-off from its reaper.</summary>
    WaitOnCaller = 1 << 2,
}

/// <summary>One reaped completion, carried from an engine's reap (under its lock) to delivery (outside it).</summary>
internal readonly struct Completion(ulong key, long res, long res2)
{
    public readonly ulong Key = key;
    public readonly long Res = res;
    public readonly long Res2 = res2;
}

/// <summary>Where an engine reports that a request ended.</summary>
internal interface IRequestCompleter
{
    /// <summary>
    /// fs/aio.c: aio_complete(). Reports the end of the request named by <paramref name="key"/>.
    /// A stale or duplicate key is ignored (returns false): generations make that safe.
    /// </summary>
    bool Complete(ulong key, long res, long res2);

    /// <summary>
    /// The slot of <paramref name="tag"/>: the core owns tag → slot (one slot per tag for the
    /// context's life), so an engine keeps no copy of it. Null only for a tag the core never
    /// handed out.
    /// </summary>
    RequestSlot? SlotOf(int tag);
}

/// <summary>The base of every engine.</summary>
internal abstract class AioEngine : IDisposable
{
    protected AioEngine(IRequestCompleter completer)
    {
        Completer = completer;
    }

    /// <summary>Where this engine reports completions.</summary>
    protected IRequestCompleter Completer { get; }

    /// <summary>The engine's kind.</summary>
    public abstract AioEngineKind Kind { get; }

    /// <summary>What the engine does natively.</summary>
    public abstract EngineFeatures Features { get; }

    /// <summary>
    /// The core may complete an awaited buffered read the page cache holds inside the call,
    /// without this engine (AioContext.CachedRead.cs): true for the engines that read real files;
    /// false for the null engine and test engines, whose requests must reach them.
    /// </summary>
    public virtual bool ReadsCachedInline => false;

    /// <summary>
    /// Starts one prepared request. Returns 0 when accepted — the engine then owns the request
    /// until it calls Complete exactly once — or a negative errno when refused (-EAGAIN when its
    /// own queue is full), in which case it must not complete it.
    /// </summary>
    public abstract int Submit(RequestSlot slot);

    /// <summary>Ends a batch of <see cref="Submit"/> calls (io_uring: one io_uring_enter).</summary>
    public virtual void Flush()
    {
    }

    /// <summary>
    /// Ends the submission of one awaited request (ReadAsync and the like). Unless
    /// <paramref name="alone"/> (no other request of the context is outstanding), an engine may
    /// defer the kernel entry to a thread-pool work item that coalesces the submissions of
    /// concurrent awaiters into one (see <see cref="DeliverInline"/>); by default the same as
    /// <see cref="Flush"/>. <paramref name="slot"/> is the request just submitted, still the
    /// caller's to read (its awaiter cannot free it before the ValueTask exists).
    /// </summary>
    public virtual void FlushAwaited(RequestSlot slot, bool alone) => Flush();

    /// <summary>The cancel callback registered with <see cref="RequestSlot.TrySetCancelCallback"/>.</summary>
    public virtual void Cancel(RequestSlot slot)
    {
    }

    /// <summary>Harvests ready completions on the calling thread without blocking; true if any.</summary>
    public virtual bool TryReap() => false;

    /// <summary>
    /// Engines with <see cref="EngineFeatures.WaitOnCaller"/>: blocks the calling GetEvents thread
    /// in the kernel until a completion is posted or <paramref name="timeoutMs"/> passes, then
    /// harvests what is there. Returns when any completion was posted, including one that another
    /// thread harvested, or after <see cref="WakeWaiters"/>. <paramref name="token"/> is what
    /// <see cref="BeginCallerWait"/> returned to this caller.
    /// </summary>
    public virtual void WaitForCompletions(int timeoutMs, int token)
    {
    }

    /// <summary>
    /// A GetEvents caller is about to wait in the engine (called before it re-checks the ring;
    /// a full fence). The engine is the one owner of the count of such callers. Returns a token
    /// for <see cref="WaitForCompletions"/>: a wake-up from now on must end that wait even if it
    /// comes before the wait begins (the caller re-checks the ring in between).
    /// </summary>
    public virtual int BeginCallerWait() => 0;

    /// <summary>That caller has finished waiting.</summary>
    public virtual void EndCallerWait()
    {
    }

    /// <summary>
    /// An event reached the ring (called after publishing it): makes every thread in
    /// <see cref="WaitForCompletions"/> return soon. Cheap when no caller waits (the engine reads
    /// its own count); the waiting thread's own deliveries need no wake-up.
    /// </summary>
    public virtual void WakeWaiters()
    {
    }

    /// <summary>
    /// The core has (delta &gt; 0) or no longer has (delta &lt; 0) a waiter that does not reap
    /// itself (GetEventsAsync, teardown's drain): an engine whose reaper rests while nothing
    /// needs asynchronous delivery must deliver everything while the demand lasts.
    /// </summary>
    public virtual void AddReaperDemand(int delta)
    {
    }

    /// <summary>
    /// True while the calling thread holds one of the engine's own locks. Delivery must never
    /// happen then (the one-way contract: reap under the lock, release it, then deliver): the core
    /// asserts it in Debug builds and the tests' fault-injecting wrapper counts violations.
    /// </summary>
    internal virtual bool HoldsLockOnCurrentThread => false;

    /// <summary>
    /// True while this thread delivers through <see cref="DeliverInline"/>: an awaiter's
    /// continuation may then run on this thread, inside the delivery, instead of being queued to
    /// the thread pool.
    /// </summary>
    [ThreadStatic]
    private static bool s_inlineContinuations;

    /// <summary>Whether the delivery running on this thread may run awaiters' continuations inline.</summary>
    internal static bool InlineContinuations => s_inlineContinuations;

    /// <summary>
    /// Like <see cref="Deliver"/>, on a thread-pool thread that holds nothing — no engine lock, no
    /// other reaped-but-undelivered completion (a continuation run here may block, or dispose the
    /// context, which waits for every request) — so awaiters' continuations run here, without a
    /// hop through the thread pool's queue: the thread pool would run them on a thread like this one.
    /// </summary>
    protected void DeliverInline(in Completion completion)
    {
        Debug.Assert(Thread.CurrentThread.IsThreadPoolThread, "inline continuations only on a thread-pool thread");
        s_inlineContinuations = true;
        try
        {
            Deliver(new ReadOnlySpan<Completion>(in completion));
        }
        finally
        {
            s_inlineContinuations = false;
        }
    }

    /// <summary>Reports a batch reaped under the engine's lock, after the lock was released.</summary>
    protected void Deliver(ReadOnlySpan<Completion> batch)
    {
        Debug.Assert(!HoldsLockOnCurrentThread, "delivery under an engine lock");
        foreach (ref readonly Completion c in batch)
        {
            Completer.Complete(c.Key, c.Res, c.Res2);
        }
    }

    /// <summary>Releases the engine's resources; called after every request completed.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the engine's resources.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
