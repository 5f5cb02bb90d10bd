using Kaio.Core;

namespace Kaio.Tests.Core;

public sealed class StructureTests
{
    [Fact]
    public void TagPool_HandsOutEveryTagOnce_AndTakesThemBack()
    {
        var pool = new TagPool(100);
        var seen = new HashSet<int>();
        for (int i = 0; i < 100; i++)
        {
            Assert.True(pool.TryAlloc(out int tag));
            Assert.InRange(tag, 0, 99);
            Assert.True(seen.Add(tag));
        }

        Assert.False(pool.TryAlloc(out _));
        foreach (int t in seen)
        {
            pool.Free(t);
        }

        Assert.Equal(100, pool.FreeCount);
    }

    [Fact]
    public void TagPool_ConcurrentAllocFree_NeverTwoOwners()
    {
        var pool = new TagPool(64);
        var owner = new int[64];
        int errors = 0;
        var threads = new Thread[4];
        for (int t = 0; t < threads.Length; t++)
        {
            threads[t] = new Thread(() =>
            {
                for (int i = 0; i < 20000; i++)
                {
                    if (pool.TryAlloc(out int tag))
                    {
                        if (Interlocked.Exchange(ref owner[tag], 1) != 0)
                        {
                            Interlocked.Increment(ref errors);
                        }

                        Volatile.Write(ref owner[tag], 0);
                        pool.Free(tag);
                    }
                }
            });
            threads[t].Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        Assert.Equal(0, errors);
        Assert.Equal(64, pool.FreeCount);
    }

    [Fact]
    public void ReqsAvailable_ExactlyCapacityUnits_ThenRefuses_ThenReturnsToFull()
    {
        var reqs = new ReqsAvailable(50);
        for (int i = 0; i < 50; i++)
        {
            Assert.True(reqs.TryGet(), $"unit {i} refused");
        }

        Assert.False(reqs.TryGet());
        reqs.Put(20);
        reqs.Put(30);
        Assert.Equal(50, reqs.Available);
    }

    [Fact]
    public void RefCount_AfterKill_NoNewReference()
    {
        var users = new RefCount();
        Assert.True(users.TryGet());
        Assert.True(users.Kill());
        Assert.False(users.Kill());
        Assert.False(users.TryGet());
        users.Put();
        Assert.False(users.Zero.IsCompleted); // the initial reference is still there
        users.Put(); // the initial reference
        Assert.True(users.Zero.IsCompleted);
    }

    [Fact]
    public void DeferredWorkQueue_RacingCreators_AllGetTheOneQueue()
    {
        for (int round = 0; round < 20; round++)
        {
            ulong device = 0xF00D_0000_0000UL + (ulong)Environment.TickCount64 + (ulong)round;
            var got = new DeferredWorkQueue[4];
            var go = new ManualResetEventSlim();
            var threads = new Thread[got.Length];
            for (int i = 0; i < threads.Length; i++)
            {
                int id = i;
                threads[i] = new Thread(() =>
                {
                    go.Wait();
                    got[id] = DeferredWorkQueue.ForDevice(device);
                });
                threads[i].Start();
            }

            go.Set();
            foreach (Thread t in threads)
            {
                t.Join();
            }

            Assert.All(got, q => Assert.Same(got[0], q));
            Assert.Same(got[0], DeferredWorkQueue.ForDevice(device));
        }
    }

    [Fact]
    public void BoundedQueue_FifoAndFull()
    {
        var q = new BoundedQueue<int>(3); // rounds to 4
        for (int i = 0; i < q.Capacity; i++)
        {
            Assert.True(q.TryEnqueue(i));
        }

        Assert.False(q.TryEnqueue(99));
        for (int i = 0; i < q.Capacity; i++)
        {
            Assert.True(q.TryDequeue(out int v));
            Assert.Equal(i, v);
        }

        Assert.False(q.TryDequeue(out _));
    }
}
