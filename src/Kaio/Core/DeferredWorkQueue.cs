// Design: deferred completions (seed 003), and group commit. A completion that needs a blocking
// step — the fdatasync/fsync that makes a DSYNC/SYNC write (or a flush) durable, or a user
// callback marked as blocking — must not run on the thread that reaps completions. It goes to a
// work queue of the file's device (the seed's per-superblock s_dio_done_wq), created lazily on
// first need: racing creators publish by compare-and-swap and the loser disposes its own queue.
// Queues live for the process, like the superblock's; their threads are background threads
// that sleep when idle.
//
// Group commit. A worker takes everything queued at that moment as one batch, and for each
// descriptor in it makes one sync call — fsync if any item needs the full one (RWF_SYNC, Fsync),
// else fdatasync — that begins after every item of the group was queued, that is after its write
// completed. One sync thus makes every write that finished before it began durable, and only
// when it has returned are their events delivered. The rule, exact: a write's event never
// arrives before a sync that began after the write completed has returned; a sync that fails
// fails every write it covered with its errno (never swallowed: each waiter it concerns sees it).
// Two workers per queue; while one syncs a descriptor, the other's group for the same
// descriptor waits for that sync to end (a striped lock) and then makes its own, which covers
// everything that arrived meanwhile: bursts of writes become few syncs.
using System.Collections.Concurrent;

namespace Kaio.Core;

internal interface IDeferredWork
{
    /// <summary>The descriptor a sync must make durable before <see cref="RunDeferred"/>, or -1 for none.</summary>
    int SyncFd { get; }

    /// <summary>The sync must be a full fsync (file metadata too), not fdatasync.</summary>
    bool SyncIsFull { get; }

    /// <summary>The group's sync returned <paramref name="res"/> (0 or -errno); called before <see cref="RunDeferred"/>.</summary>
    void SyncDone(int res);

    /// <summary>The rest of the completion: deliver, or run the blocking callback.</summary>
    void RunDeferred();
}

internal sealed class DeferredWorkQueue : IDisposable
{
    private const int Workers = 2;
    private const int SyncStripes = 16;

    // Copy-on-write registry of queues by device; replaced by CAS in ForDevice.
    private static DeferredWorkQueue[] s_queues = [];

    // A clock for the group-commit instrumentation: every queued item and every sync start take
    // the next tick, so "the sync began after the item was queued" is a comparison of ticks.
    private static long s_clock;

    private readonly ConcurrentQueue<QueuedWork> _items = new();
    private readonly FutexSemaphore _signal = new(); // not SemaphoreSlim: its Wait spins before it sleeps (see FutexSemaphore)
    private readonly Thread[] _threads = new Thread[Workers];
    private readonly Lock[] _syncLocks = new Lock[SyncStripes]; // one sync per descriptor at a time
    private int _started; // 0 → 1 by CAS: threads start when the queue wins publication
    private volatile bool _stopping;

    private DeferredWorkQueue(ulong device)
    {
        Device = device;
        for (int i = 0; i < _syncLocks.Length; i++)
        {
            _syncLocks[i] = new Lock();
        }
    }

    internal ulong Device { get; }

    /// <summary>Items started so far (for tests: proves the deferred path was taken).</summary>
    internal static long RunCount => Volatile.Read(ref s_runCount);

    /// <summary>Sync calls made by group commit so far (for tests: proves the grouping).</summary>
    internal static long SyncCalls => Volatile.Read(ref s_syncCalls);

    /// <summary>
    /// Tests: called for every item a sync covered, with the descriptor, the tick at which the
    /// item was queued (after its write completed) and the tick at which the sync began.
    /// </summary>
    internal static event Action<int, long, long>? Covered;

    private static long s_runCount;
    private static long s_syncCalls;

    // Tests: descriptor → errno the next sync on it returns instead of calling the kernel.
    private static readonly ConcurrentDictionary<int, int> s_failNextSync = new();

    /// <summary>Tests: the next group sync on <paramref name="fd"/> fails with <paramref name="errno"/> (the kernel is not called).</summary>
    internal static void FailNextSync(int fd, int errno) => s_failNextSync[fd] = errno;

    /// <summary>The queue of <paramref name="device"/>, created on first need.</summary>
    internal static DeferredWorkQueue ForDevice(ulong device)
    {
        DeferredWorkQueue[] snapshot = Volatile.Read(ref s_queues);
        foreach (DeferredWorkQueue q in snapshot)
        {
            if (q.Device == device)
            {
                return q;
            }
        }

        var mine = new DeferredWorkQueue(device);
        while (true)
        {
            var next = new DeferredWorkQueue[snapshot.Length + 1];
            snapshot.CopyTo(next, 0);
            next[^1] = mine;
            DeferredWorkQueue[] seen = Interlocked.CompareExchange(ref s_queues, next, snapshot);
            if (ReferenceEquals(seen, snapshot))
            {
                mine.Start();
                return mine;
            }

            snapshot = seen;
            foreach (DeferredWorkQueue q in snapshot)
            {
                if (q.Device == device)
                {
                    mine.Dispose(); // lost the race: dispose our own, use the winner's
                    return q;
                }
            }
        }
    }

    internal void Queue(IDeferredWork work)
    {
        _items.Enqueue(new QueuedWork(work, Interlocked.Increment(ref s_clock)));
        _signal.Release();
    }

    private void Start()
    {
        if (Interlocked.CompareExchange(ref _started, 1, 0) != 0)
        {
            return;
        }

        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Run)
            {
                IsBackground = true,
                Name = $"kaio-deferred-{Device:x}-{i}",
            };
            _threads[i].UnsafeStart();
        }
    }

    private void Run()
    {
        var batch = new List<QueuedWork>(64); // this worker's, reused: steady state allocates nothing
        while (!_stopping)
        {
            _signal.Wait();
            // Everything queued now is one batch; the permits of the items taken with it wake the
            // other worker (or this one) to find the queue empty, which costs a loop, not a sync.
            while (_items.TryDequeue(out QueuedWork item))
            {
                batch.Add(item);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                RunBatch(batch);
            }
            catch (Exception e)
            {
                // A deferred item is core code that must not throw; a broken invariant here
                // would leave a request without its completion and hang every waiter.
                Environment.FailFast("Kaio: deferred completion failed", e);
            }

            batch.Clear();
        }
    }

    private void RunBatch(List<QueuedWork> batch)
    {
        batch.Sort(QueuedWork.s_byFd); // groups by descriptor; items without a sync (-1) first
        int i = 0;
        while (i < batch.Count)
        {
            int fd = batch[i].Work.SyncFd;
            int end = i + 1;
            while (end < batch.Count && batch[end].Work.SyncFd == fd)
            {
                end++;
            }

            if (fd >= 0)
            {
                bool full = false;
                for (int k = i; k < end; k++)
                {
                    full |= batch[k].Work.SyncIsFull;
                }

                int res;
                long began;
                lock (_syncLocks[fd % SyncStripes])
                {
                    began = Interlocked.Increment(ref s_clock);
                    res = Sync(fd, full);
                }

                Action<int, long, long>? onCovered = Covered;
                for (int k = i; k < end; k++)
                {
                    onCovered?.Invoke(fd, batch[k].QueuedAt, began);
                    batch[k].Work.SyncDone(res);
                }
            }

            for (int k = i; k < end; k++)
            {
                Interlocked.Increment(ref s_runCount); // before: the item delivers its event as it ends
                batch[k].Work.RunDeferred();
            }

            i = end;
        }
    }

    private static int Sync(int fd, bool full)
    {
        Interlocked.Increment(ref s_syncCalls);
        if (!s_failNextSync.IsEmpty && s_failNextSync.TryRemove(fd, out int injected))
        {
            return -injected;
        }

        int rc;
        do
        {
            rc = full ? Interop.fsync(fd) : Interop.fdatasync(fd);
        }
        while (rc < 0 && Interop.LastRes() == -Errno.EINTR);

        return rc < 0 ? Interop.LastRes() : 0;
    }

    public void Dispose()
    {
        _stopping = true;
        if (Volatile.Read(ref _started) != 0)
        {
            _signal.Release(_threads.Length);
            return; // published queues live for the process; only a loser is disposed, before it started
        }

        _signal.Dispose();
    }

    private readonly struct QueuedWork(IDeferredWork work, long queuedAt)
    {
        internal static readonly IComparer<QueuedWork> s_byFd = Comparer<QueuedWork>.Create(static (a, b) => a.Work.SyncFd.CompareTo(b.Work.SyncFd));

        public readonly IDeferredWork Work = work;
        public readonly long QueuedAt = queuedAt;
    }
}
