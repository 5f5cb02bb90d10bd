// Design: deferred completions (seed 003). A completion that needs a blocking step — the
// fdatasync/fsync behind a DSYNC/SYNC write on an engine that cannot do it natively, or a user
// callback marked as blocking — must not run on the thread that reaps completions. It goes to a
// work queue of the file's device (the seed's per-superblock s_dio_done_wq), created lazily on
// first need: racing creators publish by compare-and-swap and the loser disposes its own queue.
// Queues live for the process, like the superblock's; their threads are background threads
// that sleep when idle.
using System.Collections.Concurrent;

namespace Kaio.Core;

internal interface IDeferredWork
{
    void RunDeferred();
}

internal sealed class DeferredWorkQueue : IDisposable
{
    private const int Workers = 2;

    // Copy-on-write registry of queues by device; replaced by CAS in ForDevice.
    private static DeferredWorkQueue[] s_queues = [];

    private readonly ConcurrentQueue<IDeferredWork> _items = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Thread[] _threads = new Thread[Workers];
    private int _started; // 0 → 1 by CAS: threads start when the queue wins publication
    private volatile bool _stopping;

    private DeferredWorkQueue(ulong device)
    {
        Device = device;
    }

    internal ulong Device { get; }

    /// <summary>Items started so far (for tests: proves the deferred path was taken).</summary>
    internal static long RunCount => Volatile.Read(ref s_runCount);

    private static long s_runCount;

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
        _items.Enqueue(work);
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
        while (!_stopping)
        {
            _signal.Wait();
            while (_items.TryDequeue(out IDeferredWork? work))
            {
                Interlocked.Increment(ref s_runCount); // before: the item delivers its event as it ends
                try
                {
                    work.RunDeferred();
                }
                catch (Exception e)
                {
                    // A deferred item is core code that must not throw; a broken invariant here
                    // would leave a request without its completion and hang every waiter.
                    Environment.FailFast("Kaio: deferred completion failed", e);
                }
            }
        }
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
}
