// Design: the AIO context — fs/aio.c's struct kioctx carried into .NET. A context owns a
// budget of request slots (ReqsAvailable), the slots themselves in lazily allocated pages named
// by tags (TagPool, seed 002), a completion ring read by GetEvents, and one engine that does the
// I/O. It is published in a process-wide table so that Lookup(id) can find it without a lock
// (seed 001), and torn down by the kernel's sequence (seed 004): see AioContext.Teardown.cs.
//
// Fields are grouped by owner, the kioctx way: set once at setup; the submit side; the
// completion side; the reaping side; teardown. The files beside this one hold one syscall each.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Kaio.Core;
using Kaio.Diagnostics;
using Kaio.Engines;

namespace Kaio;

/// <summary>
/// An asynchronous I/O context: the io_setup / io_submit / io_getevents / io_cancel / io_destroy
/// model over io_uring, Linux AIO or a thread pool, and <c>await</c>-style calls over the same
/// core. Thread-safe: every member may be called from any thread.
/// </summary>
public sealed partial class AioContext : IDisposable, IAsyncDisposable, IRequestCompleter
{
    /// <summary>Slots per page: the seed's KIOCBS_PER_PAGE.</summary>
    internal const int SlotsPerPage = 64;

    // ---- Set once at setup. ----
    private static readonly ConcurrentDictionary<ulong, AioContext> s_table = new();
    private static long s_nextId = 0x6b61696f_0000_0000; // "kaio": ids never look like small integers

    private readonly AioLimits _limits;
    private readonly AioEngine _engine;
    private readonly EngineFeatures _features;
    private readonly string _engineName; // the kaio.io.engine attribute of this context's metrics

    // ---- Submit side. ----
    private readonly ReqsAvailable _reqs;
    private readonly TagPool _tags;
    // Pages of slots, allocated on first use; a page pointer is published by CAS (seed 002's
    // cmpxchg on kiocb_pages[page_nr]) and only read after.
    private readonly RequestSlot[]?[] _pages;
    private readonly HandleInfoCache _handles = new();

    // ---- Completion side: the ring and its waiters. ----
    private readonly BoundedQueue<IoEvent> _ring;
    private readonly Lock _ringReadLock = new(); // the kernel's ring_lock: one reader dequeues at a time
    private readonly object _waitLock = new(); // Monitor: waiters sleep on it, producers pulse it
    private int _waiters; // Interlocked; read by producers after publishing (Dekker pair with GetEvents)

    /// <summary>The longest single wait inside the engine: a backstop, not the wake-up path.</summary>
    private const int EngineWaitCapMs = 37;
    private TaskCompletionSource? _asyncSignal; // swapped under _waitLock; completed by producers

    // ---- Teardown. ----
    private readonly RefCount _users = new();
    private int _dead; // 0 → 1 once, by Interlocked.Exchange in Dispose
    private TaskCompletionSource? _drainSignal; // set by teardown; completed by deliveries once dead

    private AioContext(int maxEvents, AioLimits limits, AioEngineKind kind, AioContextOptions options)
    {
        _limits = limits;
        Capacity = maxEvents;
        _reqs = new ReqsAvailable(Capacity);
        _tags = new TagPool(Capacity);
        _pages = new RequestSlot[]?[(Capacity + SlotsPerPage - 1) / SlotsPerPage];
        _ring = new BoundedQueue<IoEvent>(Capacity);
        _engine = EngineFactory.Create(kind, this, Capacity, options, out string reason);
        _features = _engine.Features;
        _engineName = KaioMetrics.EngineName(_engine.Kind);
        _waitWhenFull = options.WhenFull == AioFullBehavior.Wait;
        _cachedReadsInline = options.CompleteCachedReadsInline && _engine.ReadsCachedInline;
        EngineReason = reason;
        Id = (ulong)Interlocked.Increment(ref s_nextId);
    }

    /// <summary>The context's id (the kernel's <c>aio_context_t</c>), for <see cref="Lookup"/>.</summary>
    public ulong Id { get; }

    /// <summary>How many requests may be outstanding at once (submitted and not yet reaped); at least the events asked for.</summary>
    public int Capacity { get; }

    /// <summary>The engine running this context's requests.</summary>
    public AioEngineKind Engine => _engine.Kind;

    /// <summary>Why this engine was chosen (or, when asked for by name, that it was).</summary>
    public string EngineReason { get; }

    /// <summary>Slots not taken by outstanding requests; equals <see cref="Capacity"/> when idle.</summary>
    public long AvailableSlots => _reqs.Available;

    /// <summary>
    /// Awaitable requests (<see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)">ReadAsync</see>, <see cref="WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, AioRwFlags, CancellationToken)">WriteAsync</see>, <see cref="FlushAsync"/>)
    /// that have completed but whose <see cref="ValueTask"/> was never awaited: each still holds its
    /// slot, because nothing can tell that no await will come. The slot returns when the ValueTask is
    /// awaited (or its result read) once, or at <see cref="Dispose"/>. A number that keeps growing is
    /// a leak in the caller. Counted by scanning the slots (O(<see cref="Capacity"/>)): a diagnostic,
    /// not for a hot path.
    /// </summary>
    public int UnawaitedCompletions => CountSlots(static slot => slot.IsUnawaitedCompletion);

    /// <summary>True once <see cref="Dispose"/> has begun.</summary>
    public bool IsDisposed => Volatile.Read(ref _dead) != 0;

    internal AioEngine EngineForCallbacks => _engine;

    internal EngineFeatures Features => _features;

    internal int FreeTags => _tags.FreeCount;

    /// <summary>
    /// fs/aio.c: lookup_ioctx(). Finds a live context by id without taking a lock; null when no
    /// context has that id or its teardown has begun.
    /// </summary>
    public static AioContext? Lookup(ulong id)
    {
        if (!s_table.TryGetValue(id, out AioContext? ctx))
        {
            return null;
        }

        // Taking a reference fails once the context is killed: a lookup never hands out a
        // context that is being torn down.
        if (!ctx._users.TryGet())
        {
            return null;
        }

        ctx._users.Put();
        return ctx;
    }

    /// <summary>Which engines work on this machine, and why.</summary>
    public static IReadOnlyList<AioEngineStatus> ProbeEngines() => EngineFactory.Probe();

    /// <summary>The slot of <paramref name="tag"/>, or null when its page was never allocated.</summary>
    internal RequestSlot? SlotAt(int tag)
    {
        if ((uint)tag >= (uint)Capacity)
        {
            return null;
        }

        RequestSlot[]? page = Volatile.Read(ref _pages[tag / SlotsPerPage]);
        return page?[tag % SlotsPerPage];
    }

    /// <summary>fs/aio.c: aio_get_req() — the slot of a freshly allocated tag, its page created on first use.</summary>
    private RequestSlot SlotForNewTag(int tag)
    {
        int pageNr = tag / SlotsPerPage;
        RequestSlot[]? page = Volatile.Read(ref _pages[pageNr]);
        if (page is null)
        {
            int count = Math.Min(SlotsPerPage, Capacity - (pageNr * SlotsPerPage));
            var fresh = new RequestSlot[count];
            for (int i = 0; i < count; i++)
            {
                fresh[i] = new RequestSlot((pageNr * SlotsPerPage) + i) { Context = this };
            }

            // Release/publish: slots are fully built before the page is visible (seed 002's
            // smp_wmb before cmpxchg). A loser drops its page to the GC.
            page = Interlocked.CompareExchange(ref _pages[pageNr], fresh, null) ?? fresh;
        }

        return page[tag % SlotsPerPage];
    }

    /// <summary>
    /// Requests accepted and not yet delivered, counted by scanning the slots: teardown needs the
    /// number rarely, so the hot path keeps no shared counter for it. Exact when no call is in progress.
    /// </summary>
    internal int InFlight => CountSlots(static slot => !slot.IsIdleForTeardown);

    /// <summary>
    /// The kaio.io.in_flight observation (KaioMetrics): <see cref="InFlight"/> of every live context,
    /// summed per engine. Runs only when a listener collects; scans every slot of every context.
    /// </summary>
    internal static IEnumerable<Measurement<long>> MeasureInFlight()
    {
        Span<long> byKind = stackalloc long[(int)AioEngineKind.Null + 1];
        Span<bool> seen = stackalloc bool[byKind.Length];
        foreach (KeyValuePair<ulong, AioContext> entry in s_table)
        {
            int kind = (int)entry.Value._engine.Kind;
            if ((uint)kind < (uint)byKind.Length)
            {
                byKind[kind] += entry.Value.InFlight;
                seen[kind] = true;
            }
        }

        var measurements = new List<Measurement<long>>(byKind.Length);
        for (int kind = 0; kind < byKind.Length; kind++)
        {
            if (seen[kind])
            {
                measurements.Add(new Measurement<long>(byKind[kind], new KeyValuePair<string, object?>(KaioMetrics.EngineTag, KaioMetrics.EngineName((AioEngineKind)kind))));
            }
        }

        return measurements;
    }

    /// <summary>Counts the slots that match, page by page (pages never used are skipped).</summary>
    private int CountSlots(Func<RequestSlot, bool> match)
    {
        int n = 0;
        foreach (RequestSlot[]? page in _pages)
        {
            if (page is null)
            {
                continue;
            }

            foreach (RequestSlot slot in page)
            {
                if (match(slot))
                {
                    n++;
                }
            }
        }

        return n;
    }

    private bool TryEnter() => _users.TryGet();

    private void Exit() => _users.Put();

    [Conditional("DEBUG")]
    private static void AssertNotFree(RequestSlot slot) => Debug.Assert(slot.State != SlotState.Free);
}
