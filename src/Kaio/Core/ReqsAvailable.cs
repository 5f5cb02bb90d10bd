// Design: the slot budget, fs/aio.c's reqs_available: a shared pool plus a per-core stripe that
// takes from and gives back to the pool in batches of ReqBatch, so that most submits and reaps
// touch only their own core's line. Unlike the kernel (which disables interrupts to own its
// per-cpu counter), threads here can migrate mid-call, so each stripe is moved by CAS too.
// TryGet never blocks: it tries its stripe, then a batch from the pool, then steals one unit
// from any other stripe; only when every unit is out does it fail (EAGAIN). Under concurrent
// moves a steal can miss a unit in transit; the kernel has the same window.
// fs/aio.c: get_reqs_available(), put_reqs_available(), refill_reqs_available().
namespace Kaio.Core;

internal sealed class ReqsAvailable
{
    private readonly PaddedCounter[] _stripes;
    // The shared pool; moved by CAS (TryGet) and Interlocked.Add (Put).
    private long _pool;

    internal ReqsAvailable(int capacity)
    {
        Capacity = capacity;
        _stripes = new PaddedCounter[Cores.Count];
        // fs/aio.c: ioctx_alloc(): req_batch = (nr_events - 1) / (num_possible_cpus() * 4), at least 1.
        ReqBatch = Math.Max(1, (capacity - 1) / (Cores.Count * 4));
        _pool = capacity;
    }

    internal int Capacity { get; }

    internal int ReqBatch { get; }

    /// <summary>Units not taken: exact when no call is in progress.</summary>
    internal long Available
    {
        get
        {
            long sum = Volatile.Read(ref _pool);
            for (int i = 0; i < _stripes.Length; i++)
            {
                sum += Volatile.Read(ref _stripes[i].Value);
            }

            return sum;
        }
    }

    /// <summary>fs/aio.c: get_reqs_available(). Takes one unit; false when none is left.</summary>
    internal bool TryGet()
    {
        int home = Cores.Current(_stripes.Length);
        if (TryTakeOne(ref _stripes[home].Value))
        {
            return true;
        }

        long pool = Volatile.Read(ref _pool);
        while (pool > 0)
        {
            long take = Math.Min(pool, ReqBatch);
            long seen = Interlocked.CompareExchange(ref _pool, pool - take, pool);
            if (seen == pool)
            {
                // Keep one, park the rest on our stripe.
                if (take > 1)
                {
                    Interlocked.Add(ref _stripes[home].Value, take - 1);
                }

                return true;
            }

            pool = seen;
        }

        for (int i = 1; i < _stripes.Length; i++)
        {
            if (TryTakeOne(ref _stripes[(home + i) % _stripes.Length].Value))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>fs/aio.c: put_reqs_available(). Returns <paramref name="count"/> units.</summary>
    internal void Put(int count)
    {
        ref long stripe = ref _stripes[Cores.Current(_stripes.Length)].Value;
        long now = Interlocked.Add(ref stripe, count);
        // Hand whole batches back to the pool while the stripe holds two or more.
        while (now >= 2L * ReqBatch)
        {
            long seen = Interlocked.CompareExchange(ref stripe, now - ReqBatch, now);
            if (seen == now)
            {
                Interlocked.Add(ref _pool, ReqBatch);
                now -= ReqBatch;
            }
            else
            {
                now = seen;
            }
        }
    }

    private static bool TryTakeOne(ref long counter)
    {
        long value = Volatile.Read(ref counter);
        while (value > 0)
        {
            long seen = Interlocked.CompareExchange(ref counter, value - 1, value);
            if (seen == value)
            {
                return true;
            }

            value = seen;
        }

        return false;
    }
}
