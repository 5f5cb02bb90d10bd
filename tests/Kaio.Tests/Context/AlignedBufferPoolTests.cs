using System.Buffers;
using System.Runtime.CompilerServices;

namespace Kaio.Tests.Context;

/// <summary>AlignedBufferPool's rent/return (IMemoryOwner) and its release on finalization (issue 9 §4).</summary>
public sealed class AlignedBufferPoolTests
{
    private static unsafe long Address(Memory<byte> m)
    {
        using MemoryHandle pin = m.Pin();
        return (long)pin.Pointer;
    }

    [Fact]
    public void Rent_AlignedDistinctBuffers_UntilExhausted_ReturnedOnceOnDispose()
    {
        using var pool = new AlignedBufferPool(1000, 4096, 3);
        var owners = new List<IMemoryOwner<byte>>();
        var seen = new HashSet<long>();
        for (int i = 0; i < 3; i++)
        {
            IMemoryOwner<byte> o = pool.Rent();
            owners.Add(o);
            Assert.Equal(1000, o.Memory.Length);
            Assert.Equal(0, Address(o.Memory) % 4096);
            Assert.True(seen.Add(Address(o.Memory)), "a buffer was rented twice");
        }

        Assert.Equal(0, pool.Available);
        Assert.False(pool.TryRent(out IMemoryOwner<byte>? none));
        Assert.Null(none);
        Assert.Throws<InvalidOperationException>(() => pool.Rent());

        long returned = Address(owners[1].Memory);
        owners[1].Dispose();
        owners[1].Dispose(); // a second Dispose returns nothing
        Assert.Equal(1, pool.Available);
        Assert.Throws<ObjectDisposedException>(() => owners[1].Memory);
        Assert.True(pool.TryRent(out IMemoryOwner<byte>? again));
        Assert.Equal(returned, Address(again.Memory));
        owners[1].Dispose(); // stale owner: must not hand the re-rented buffer back
        Assert.Equal(0, pool.Available);

        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
        Assert.Throws<ObjectDisposedException>(() => again.Memory.Span.Length);
        again.Dispose(); // returning after the pool is gone is harmless
    }

    [Fact]
    public async Task RentedBuffer_ThroughReadAsync_ReadsTheFile()
    {
        using var file = new Infrastructure.TempFile(8192);
        using SafeFileHandle h = file.OpenRead();
        await using AioContext ctx = AioContext.Setup(8);
        using var pool = new AlignedBufferPool(4096, 4096, 2);
        using IMemoryOwner<byte> owner = pool.Rent();
        Assert.Equal(4096, await ctx.ReadAsync(h, owner.Memory, 4096, TestContext.Current.CancellationToken));
        Assert.Equal(file.Content.AsSpan(4096, 4096).ToArray(), owner.Memory.ToArray());
    }

    [Fact]
    public void NeverDisposed_SlabFreedByTheFinalizer_ButNotWhileABufferIsReachable()
    {
        // A buffer alone keeps its pool (and the slab) alive: its MemoryManager references the pool.
        WeakReference pool = UseOneBufferAcrossCollections();

        // Unreachable pools are finalized and free their slabs.
        long before = AlignedBufferPool.FinalizedSlabs;
        WeakReference[] dropped = [.. Enumerable.Range(0, 8).Select(_ => MakePool())];
        CollectFully();
        Assert.All(dropped, w => Assert.False(w.IsAlive));
        Assert.True(AlignedBufferPool.FinalizedSlabs - before >= 8, $"{AlignedBufferPool.FinalizedSlabs - before} slabs freed by finalizers, 8 pools dropped");
        Assert.False(pool.IsAlive, "the pool outlived its last buffer");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference UseOneBufferAcrossCollections()
    {
        (WeakReference pool, Memory<byte> kept) = MakePoolKeepOneBuffer();
        kept.Span.Fill(0x5A);
        CollectFully();
        Assert.True(pool.IsAlive, "the pool was collected while one of its buffers was still reachable");
        Assert.True(kept.Span.IndexOfAnyExcept((byte)0x5A) < 0, "the buffer's bytes changed");
        return pool;
    }

    private static void CollectFully()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference MakePool() => new(new AlignedBufferPool(4096, 4096, 4));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference, Memory<byte>) MakePoolKeepOneBuffer()
    {
        var pool = new AlignedBufferPool(4096, 4096, 4);
        return (new WeakReference(pool), pool[2]);
    }
}
