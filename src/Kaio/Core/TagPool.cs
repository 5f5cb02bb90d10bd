// Design: the tag allocator of seed 002 (percpu_ida): tags 0..capacity-1 name request slots.
// Each core has a small cache of free tags; a cache that runs dry takes a batch from the
// global free list, one that overflows gives a batch back; when both are empty a caller steals
// from other cores' caches. Every list has its own lock, held for a few instructions and almost
// never contended (a thread uses its own core's cache) — the user-space stand-in for the
// kernel's irq-disabled per-cpu section. Because the budget (ReqsAvailable) is taken first and
// is never larger than the tag count, TryAlloc always finds a tag.
namespace Kaio.Core;

internal sealed class TagPool
{
    private readonly Cache[] _caches;
    private readonly int[] _global;
    private readonly Lock _globalLock = new();
    private int _globalCount; // guarded by _globalLock
    private readonly int _batch;

    internal TagPool(int capacity)
    {
        Capacity = capacity;
        _global = new int[capacity];
        // Hand out low tags first so that pages are allocated in order as load grows.
        for (int i = 0; i < capacity; i++)
        {
            _global[i] = capacity - 1 - i;
        }

        _globalCount = capacity;
        _batch = Math.Clamp(capacity / (Cores.Count * 4), 1, 32);
        _caches = new Cache[Cores.Count];
        for (int i = 0; i < _caches.Length; i++)
        {
            _caches[i] = new Cache(_batch * 2);
        }
    }

    internal int Capacity { get; }

    /// <summary>Free tags, summed over every list; exact when no call is in progress.</summary>
    internal int FreeCount
    {
        get
        {
            int n;
            lock (_globalLock)
            {
                n = _globalCount;
            }

            foreach (Cache c in _caches)
            {
                lock (c.Lock)
                {
                    n += c.Count;
                }
            }

            return n;
        }
    }

    internal bool TryAlloc(out int tag)
    {
        Cache home = _caches[Cores.Current(_caches.Length)];
        lock (home.Lock)
        {
            if (home.Count == 0)
            {
                lock (_globalLock)
                {
                    int move = Math.Min(_batch, _globalCount);
                    for (int i = 0; i < move; i++)
                    {
                        home.Tags[home.Count++] = _global[--_globalCount];
                    }
                }
            }

            if (home.Count > 0)
            {
                tag = home.Tags[--home.Count];
                return true;
            }
        }

        foreach (Cache other in _caches)
        {
            lock (other.Lock)
            {
                if (other.Count > 0)
                {
                    tag = other.Tags[--other.Count];
                    return true;
                }
            }
        }

        tag = -1;
        return false;
    }

    internal void Free(int tag)
    {
        Cache home = _caches[Cores.Current(_caches.Length)];
        lock (home.Lock)
        {
            if (home.Count == home.Tags.Length)
            {
                lock (_globalLock)
                {
                    for (int i = 0; i < _batch; i++)
                    {
                        _global[_globalCount++] = home.Tags[--home.Count];
                    }
                }
            }

            home.Tags[home.Count++] = tag;
        }
    }

    private sealed class Cache
    {
        internal readonly Lock Lock = new();
        internal readonly int[] Tags;
        internal int Count; // guarded by Lock

        internal Cache(int size)
        {
            Tags = new int[size];
        }
    }
}
