using Kaio.Core;
using Kaio.Engines;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Core;

/// <summary>
/// AioFullBehavior.Wait, driven by hand: a full context makes awaitable calls wait in FIFO order,
/// a waiter's token cancels only its wait, Dispose fails the waiters, and Refuse keeps EAGAIN.
/// </summary>
public sealed class BackpressureTests : IDisposable
{
    private readonly TempFile _file = new(4096);
    private readonly SafeFileHandle _handle;

    public BackpressureTests()
    {
        _handle = _file.OpenRead();
    }

    public void Dispose()
    {
        _handle.Dispose();
        _file.Dispose();
    }

    private static AioContext NewContext(out ManualEngine engine, AioFullBehavior whenFull, int capacity = 1)
    {
        ManualEngine? made = null;
        AioContext ctx = AioContext.Setup(capacity, new AioContextOptions
        {
            WhenFull = whenFull,
            EngineOverride = (c, _) => made = new ManualEngine(c),
        });
        engine = made!;
        return ctx;
    }

    private static RequestSlot NextSubmitted(ManualEngine engine)
    {
        RequestSlot? slot = null;
        Assert.True(SpinWait.SpinUntil(() => engine.Submitted.TryDequeue(out slot), TimeSpan.FromSeconds(10)), "nothing reached the engine");
        return slot!;
    }

    [Fact]
    public async Task Refuse_FullContext_ThrowsEagain()
    {
        await using AioContext ctx = NewContext(out ManualEngine engine, AioFullBehavior.Refuse);
        ValueTask<int> first = ctx.ReadAsync(_handle, new byte[8], 0, TestContext.Current.CancellationToken);
        var e = Assert.Throws<AioException>(() => { _ = ctx.ReadAsync(_handle, new byte[8], 0, TestContext.Current.CancellationToken).AsTask(); });
        Assert.Equal(Errno.EAGAIN, e.Errno);
        engine.Complete(NextSubmitted(engine).Key, 8);
        Assert.Equal(8, await first);
    }

    [Fact]
    public async Task Wait_FullContext_WaitersGetSlotsInOrder()
    {
        await using AioContext ctx = NewContext(out ManualEngine engine, AioFullBehavior.Wait);
        CancellationToken ct = TestContext.Current.CancellationToken;
        ValueTask<int> first = ctx.ReadAsync(_handle, new byte[8], 0, ct);
        RequestSlot running = NextSubmitted(engine);
        var waiting = new List<Task<int>>();
        for (int i = 1; i <= 3; i++)
        {
            waiting.Add(ctx.ReadAsync(_handle, new byte[8], i, ct).AsTask());
        }

        Assert.Equal(3, ctx.SlotWaiters);
        Assert.All(waiting, t => Assert.False(t.IsCompleted));
        Assert.True(engine.Submitted.IsEmpty); // nobody submitted past Capacity

        engine.Complete(running.Key, 8);
        Assert.Equal(8, await first);
        for (int i = 1; i <= 3; i++)
        {
            // The oldest waiter goes next: its offset names it.
            RequestSlot slot = NextSubmitted(engine);
            Assert.Equal(i, slot.Offset);
            Assert.True(engine.Submitted.IsEmpty);
            engine.Complete(slot.Key, 100 + i);
            Assert.Equal(100 + i, await waiting[i - 1].WaitAsync(TimeSpan.FromSeconds(10), ct));
        }

        Assert.Equal(0, ctx.SlotWaiters);
        Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
    }

    [Fact]
    public async Task Wait_WaiterCancelled_ThrowsAndNextWaiterStillServed()
    {
        await using AioContext ctx = NewContext(out ManualEngine engine, AioFullBehavior.Wait);
        CancellationToken ct = TestContext.Current.CancellationToken;
        ValueTask<int> first = ctx.ReadAsync(_handle, new byte[8], 0, ct);
        RequestSlot running = NextSubmitted(engine);
        using var cts = new CancellationTokenSource();
        Task<int> cancelled = ctx.ReadAsync(_handle, new byte[8], 1, cts.Token).AsTask();
        Task<int> next = ctx.ReadAsync(_handle, new byte[8], 2, ct).AsTask();
        await cts.CancelAsync();
        var oce = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(cts.Token, oce.CancellationToken);
        Assert.True(engine.Submitted.IsEmpty); // the cancelled call never reached the engine
        Assert.Equal(0, ctx.AvailableSlots);

        engine.Complete(running.Key, 8);
        Assert.Equal(8, await first);
        RequestSlot slot = NextSubmitted(engine);
        Assert.Equal(2, slot.Offset);
        engine.Complete(slot.Key, 9);
        Assert.Equal(9, await next.WaitAsync(TimeSpan.FromSeconds(10), ct));
        Assert.Equal(0, ctx.SlotWaiters);
        Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
    }

    [Fact]
    public async Task Wait_NewCallWhileOthersWait_QueuesBehindThem()
    {
        await using AioContext ctx = NewContext(out ManualEngine engine, AioFullBehavior.Wait);
        CancellationToken ct = TestContext.Current.CancellationToken;
        ValueTask<int> first = ctx.ReadAsync(_handle, new byte[8], 0, ct);
        RequestSlot running = NextSubmitted(engine);
        Task<int> a = ctx.ReadAsync(_handle, new byte[8], 1, ct).AsTask();
        engine.Complete(running.Key, 8);
        Assert.Equal(8, await first); // the slot goes to a, not to the call below
        Task<int> b = ctx.ReadAsync(_handle, new byte[8], 2, ct).AsTask();
        RequestSlot slotA = NextSubmitted(engine);
        Assert.Equal(1, slotA.Offset);
        engine.Complete(slotA.Key, 1);
        Assert.Equal(1, await a.WaitAsync(TimeSpan.FromSeconds(10), ct));
        RequestSlot slotB = NextSubmitted(engine);
        Assert.Equal(2, slotB.Offset);
        engine.Complete(slotB.Key, 2);
        Assert.Equal(2, await b.WaitAsync(TimeSpan.FromSeconds(10), ct));
    }

    [Fact]
    public async Task Wait_Dispose_FailsWaitersWithObjectDisposed()
    {
        AioContext ctx = NewContext(out ManualEngine engine, AioFullBehavior.Wait);
        CancellationToken ct = TestContext.Current.CancellationToken;
        ValueTask<int> first = ctx.ReadAsync(_handle, new byte[8], 0, ct);
        RequestSlot running = NextSubmitted(engine);
        Task waitingFlush = ctx.FlushAsync(_handle, cancellationToken: ct).AsTask();
        Task<int> waitingRead = ctx.ReadAsync(_handle, new byte[8], 1, ct).AsTask();
        // The "kernel" reports the cancelled request later, from another thread (completing inside
        // the cancel callback would wait for that callback to return).
        engine.OnCancel = s => ThreadPool.QueueUserWorkItem(_ => engine.Complete(s.Key, -Errno.ECANCELED));
        Assert.Equal(CancelRegistration.Registered, running.TrySetCancelCallback());
        await ctx.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waitingFlush);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waitingRead);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await first);
        Assert.True(engine.Submitted.IsEmpty);
        Assert.Equal(0, ctx.SlotWaiters);
    }
}
