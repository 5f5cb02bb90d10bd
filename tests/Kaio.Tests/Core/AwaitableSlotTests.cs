using Kaio.Core;
using Kaio.Tests.Infrastructure;

// These tests misuse ValueTasks on purpose (a result read before completion, twice, concurrently):
// that is what they pin.
#pragma warning disable CA2012, xUnit1031

namespace Kaio.Tests.Core;

/// <summary>
/// The awaitable face's slot: a misused ValueTask (result read before completion, awaited twice,
/// awaited concurrently) throws InvalidOperationException and changes nothing; the slot returns
/// exactly once, after the engine is done. Driven by hand so every case is deterministic.
/// </summary>
public sealed class AwaitableSlotTests : IDisposable
{
    private readonly TempFile _file = new(4096);
    private readonly SafeFileHandle _handle;

    public AwaitableSlotTests()
    {
        _handle = _file.OpenRead();
    }

    public void Dispose()
    {
        _handle.Dispose();
        _file.Dispose();
    }

    private static void AssertFull(AioContext ctx)
    {
        Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
        Assert.Equal(ctx.Capacity, ctx.FreeTags);
        Assert.Equal(0, ctx.InFlight);
    }

    /// <summary>A request on the (only) slot, still in the engine's hands.</summary>
    private ValueTask<int> Pending(AioContext ctx, ManualEngine engine, out RequestSlot slot)
    {
        ValueTask<int> read = ctx.ReadAsync(_handle, new byte[16], 0, TestContext.Current.CancellationToken);
        Assert.True(engine.Submitted.TryDequeue(out RequestSlot? s));
        slot = s;
        return read;
    }

    /// <summary>A newer request on the same slot completes with its own result, and the budget comes back full.</summary>
    private async Task AssertNewerRequestUntouched(AioContext ctx, ManualEngine engine)
    {
        ValueTask<int> newer = Pending(ctx, engine, out RequestSlot slot);
        Assert.Equal(0, ctx.AvailableSlots);
        Assert.Equal(SlotState.Armed, slot.State);
        Assert.True(engine.Complete(slot.Key, 11));
        Assert.Equal(11, await newer);
        AssertFull(ctx);
    }

    [Fact]
    public async Task Result_BeforeCompletion_ThrowsAndKeepsTheSlot()
    {
        await using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine, capacity: 1);
        ValueTask<int> read = Pending(ctx, engine, out RequestSlot slot);
        Assert.Throws<InvalidOperationException>(() => read.Result);
        Assert.Throws<InvalidOperationException>(() => read.GetAwaiter().GetResult());

        // The kernel still owns the request: its slot and budget stay taken.
        Assert.Equal(0, ctx.AvailableSlots);
        Assert.Equal(0, ctx.FreeTags);
        Assert.Equal(SlotState.Armed, slot.State);

        Assert.True(engine.Complete(slot.Key, 16));
        Assert.Equal(16, await read);
        AssertFull(ctx);
        await AssertNewerRequestUntouched(ctx, engine);
    }

    [Fact]
    public async Task ResultRead_AfterCompletedAwait_ThrowsAndLeavesNewerRequestAlone()
    {
        await using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine, capacity: 1);
        ValueTask<int> read = Pending(ctx, engine, out RequestSlot slot);
        Assert.True(engine.Complete(slot.Key, 16));
        Assert.Equal(16, await read);
        AssertFull(ctx);

        // A newer request now holds the slot; the stale ValueTask must not touch it.
        ValueTask<int> newer = Pending(ctx, engine, out RequestSlot newerSlot);
        Assert.Same(slot, newerSlot);
        Assert.Throws<InvalidOperationException>(() => read.GetAwaiter().GetResult());
        Assert.Throws<InvalidOperationException>(() => read.Result);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await read);
        Assert.Equal(0, ctx.AvailableSlots);
        Assert.Equal(SlotState.Armed, newerSlot.State);

        Assert.True(engine.Complete(newerSlot.Key, 11));
        Assert.Equal(11, await newer);
        AssertFull(ctx);
    }

    [Fact]
    public async Task ResultReadTwice_AfterCompletion_SecondThrowsSlotReturnedOnce()
    {
        await using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine, capacity: 1);
        ValueTask<int> read = Pending(ctx, engine, out RequestSlot slot);
        Assert.True(engine.Complete(slot.Key, 16));
        Assert.Equal(16, read.Result);
        Assert.Throws<InvalidOperationException>(() => read.Result);
        AssertFull(ctx);
        await AssertNewerRequestUntouched(ctx, engine);
    }

    [Fact]
    public async Task TwoAwaiters_BeforeCompletion_SecondRefusedFirstGetsTheResult()
    {
        await using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine, capacity: 1);
        ValueTask<int> read = Pending(ctx, engine, out RequestSlot slot);
        Task<int> first = read.AsTask();
        // ManualResetValueTaskSourceCore takes one continuation: a second awaiter is a misuse.
        Assert.Throws<InvalidOperationException>(() => read.GetAwaiter().OnCompleted(() => { }));
        Assert.Equal(0, ctx.AvailableSlots);
        Assert.True(engine.Complete(slot.Key, 16));
        Assert.Equal(16, await first.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        AssertFull(ctx);
        await AssertNewerRequestUntouched(ctx, engine);
    }

    [Fact]
    public async Task TwoResultReads_Race_ExactlyOneWinsSlotReturnedOnce()
    {
        await using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine, capacity: 1);
        int seed = Environment.TickCount;
        var rng = new Random(seed);
        int aWon = 0, bWon = 0;
        for (int iter = 0; iter < 2000 && (aWon == 0 || bWon == 0 || iter < 100); iter++)
        {
            ValueTask<int> read = Pending(ctx, engine, out RequestSlot slot);
            Assert.True(engine.Complete(slot.Key, 16));
            int a = 0, b = 0;
            RaceGate.Race(rng, () => a = TryResult(read), () => b = TryResult(read));

            // Invariant: one read got the result, the other was refused, the slot came back once.
            Assert.True((a == 16 && b == -1) || (a == -1 && b == 16), $"seed {seed}: a={a} b={b}");
            AssertFull(ctx);
            if (a == 16)
            {
                aWon++;
            }
            else
            {
                bWon++;
            }
        }

        Assert.True(aWon > 0 && bWon > 0, $"seed {seed}: a won {aWon}, b won {bWon}: the race did not go both ways");
        await AssertNewerRequestUntouched(ctx, engine);

        static int TryResult(ValueTask<int> vt)
        {
            try
            {
                return vt.Result;
            }
            catch (InvalidOperationException)
            {
                return -1;
            }
        }
    }

    [Fact]
    public async Task NeverAwaited_HoldsItsSlotAndIsCounted_UntilAwaitedOnce()
    {
        await using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine, capacity: 2);
        ValueTask<int> read = Pending(ctx, engine, out RequestSlot slot);
        Assert.Equal(0, ctx.UnawaitedCompletions);
        Assert.True(engine.Complete(slot.Key, 16));
        Assert.Equal(1, ctx.UnawaitedCompletions);
        Assert.Equal(ctx.Capacity - 1, ctx.AvailableSlots);
        Assert.Equal(0, ctx.InFlight); // teardown does not wait for it: nothing is left for the engine
        Assert.Equal(16, await read);
        Assert.Equal(0, ctx.UnawaitedCompletions);
        AssertFull(ctx);
    }

    [Fact]
    public async Task AwaitedAfterDispose_GetsItsResult()
    {
        AioContext ctx = ManualEngine.NewContext(out ManualEngine engine, capacity: 1);
        ValueTask<int> read = Pending(ctx, engine, out RequestSlot slot);
        Assert.True(engine.Complete(slot.Key, 16));
        await ctx.DisposeAsync(); // does not wait for the await: the engine is done with the request
        Assert.Equal(16, await read);
        Assert.Throws<InvalidOperationException>(() => read.Result);
    }
}
