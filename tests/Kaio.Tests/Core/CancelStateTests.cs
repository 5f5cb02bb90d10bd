using Kaio.Core;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Core;

/// <summary>The per-slot cancel state (seeds 000 and 002), raced on a hand-driven engine.</summary>
public sealed class CancelStateTests
{
    private static IoEvent ReapOne(AioContext ctx)
    {
        var events = new IoEvent[1];
        Assert.Equal(1, ctx.GetEvents(1, events, TimeSpan.FromSeconds(10)));
        return events[0];
    }

    [Fact]
    public void CancelBeforeRequestStarts_EngineSeesMarkAndCompletesWithEcanceled()
    {
        using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        Span<Iocb> one = [Iocb.PrepPoll(new SafeFileHandle(0, false), PollEvents.In, 1)];
        ctx.Submit(one);
        Assert.True(engine.Submitted.TryDequeue(out RequestSlot? slot));
        ctx.Cancel(one[0].Key);
        Assert.True(slot.IsCancelRequested);
        Assert.Equal(0, engine.CancelCalls); // no callback registered: the mark is all
        ctx.Cancel(one[0].Key);             // asking twice is asking once
        engine.Complete(slot.Key, -Errno.ECANCELED);
        Assert.Equal(-Errno.ECANCELED, ReapOne(ctx).Result);
        ulong done = one[0].Key;
        Assert.Throws<AioException>(() => ctx.Cancel(done)); // completed: not found
    }

    [Fact]
    public async Task ReadAsync_TokenCancelsRequestNotStarted_AwaiterSeesOperationCanceled()
    {
        await using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using var cts = new CancellationTokenSource();
        ValueTask<int> read = ctx.ReadAsync(h, new byte[100], 0, cts.Token);
        Assert.True(engine.Submitted.TryDequeue(out RequestSlot? slot));
        Assert.False(read.IsCompleted);
        cts.Cancel();
        Assert.True(slot.IsCancelRequested); // the token reached the request: marked for the engine
        engine.Complete(slot.Key, -Errno.ECANCELED);
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await read);
        Assert.Equal(cts.Token, e.CancellationToken);
        Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
    }

    [Fact]
    public async Task ReadAsync_TokenWithEngineCallback_RunsCallbackOnce_RealResultIfItFinishedFirst()
    {
        await using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using var cts = new CancellationTokenSource();
        ValueTask<int> read = ctx.ReadAsync(h, new byte[100], 0, cts.Token);
        Assert.True(engine.Submitted.TryDequeue(out RequestSlot? slot));
        Assert.Equal(CancelRegistration.Registered, slot.TrySetCancelCallback());
        cts.Cancel();
        Assert.Equal(1, engine.CancelCalls);
        engine.Complete(slot.Key, 100); // the "kernel" could not stop it: its real result stands
        Assert.Equal(100, await read);

        // After completion the registration is gone: a later cancel of the same token source
        // reaches nothing (the slot may already serve another request).
        using var cts2 = new CancellationTokenSource();
        ValueTask<int> second = ctx.ReadAsync(h, new byte[100], 0, cts2.Token);
        Assert.True(engine.Submitted.TryDequeue(out RequestSlot? slot2));
        engine.Complete(slot2.Key, 7);
        Assert.Equal(7, await second);
        cts2.Cancel();
        Assert.Equal(1, engine.CancelCalls);
    }

    [Fact]
    public void CancelVsCallbackRegistration_Race_EngineLearnsOfTheCancelExactlyOnceEitherWay_NeverInsideRegistration()
    {
        using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        int seed = Environment.TickCount;
        var rng = new Random(seed);
        int registrarLearned = 0, callbackRan = 0;
        for (int iter = 0; iter < 3000 && (registrarLearned == 0 || callbackRan == 0 || iter < 200); iter++)
        {
            Span<Iocb> one = [Iocb.PrepNoop()];
            one[0].Command = IocbCommand.Poll;
            one[0].Handle = new SafeFileHandle(0, false);
            ctx.Submit(one);
            Assert.True(engine.Submitted.TryDequeue(out RequestSlot? slot));
            ulong key = one[0].Key;
            int before = engine.CancelCalls;
            int registrar = 0;
            CancelRegistration registration = default;
            RaceGate.Race(rng, () =>
            {
                registrar = Environment.CurrentManagedThreadId;
                registration = slot.TrySetCancelCallback();
            }, () => Assert.True(ctx.TryCancel(key)));

            // Invariant: the engine learns of the cancel exactly once — from the registration's
            // answer (cancel came first) or from its callback (registered first) — and the
            // callback never runs on the registering thread, inside the engine's own call.
            Assert.NotEqual(CancelRegistration.Completed, registration);
            if (registration == CancelRegistration.CancelAsked)
            {
                Assert.Equal(before, engine.CancelCalls);
                registrarLearned++;
            }
            else
            {
                Assert.Equal(before + 1, engine.CancelCalls);
                Assert.NotEqual(registrar, engine.LastCancelThread);
                callbackRan++;
            }

            Assert.True(slot.IsCancelRequested);
            engine.Complete(key, -Errno.ECANCELED);
            Assert.Equal(-Errno.ECANCELED, ReapOne(ctx).Result);
        }

        Assert.True(registrarLearned > 0 && callbackRan > 0, $"seed {seed}: registration answered CancelAsked {registrarLearned}, callback ran {callbackRan}: the race did not go both ways");
    }

    [Fact]
    public void CancelVsComplete_Race_CallbackNeverRunsAfterCompletionReturned()
    {
        using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        int seed = Environment.TickCount;
        var rng = new Random(seed);
        int completionReturned = 0;
        int violations = 0;
        engine.OnCancel = _ =>
        {
            Thread.SpinWait(50);
            if (Volatile.Read(ref completionReturned) != 0)
            {
                Interlocked.Increment(ref violations);
            }
        };
        int callbackRan = 0, completedFirst = 0;
        for (int iter = 0; iter < 3000 && (callbackRan == 0 || completedFirst == 0 || iter < 200); iter++)
        {
            Span<Iocb> one = [Iocb.PrepNoop()];
            one[0].Command = IocbCommand.Poll;
            one[0].Handle = new SafeFileHandle(0, false);
            ctx.Submit(one);
            Assert.True(engine.Submitted.TryDequeue(out RequestSlot? slot));
            Assert.Equal(CancelRegistration.Registered, slot.TrySetCancelCallback());
            ulong key = one[0].Key;
            int before = engine.CancelCalls;
            Volatile.Write(ref completionReturned, 0);
            RaceGate.Race(rng, () =>
            {
                Assert.True(engine.Complete(key, 1));
                Volatile.Write(ref completionReturned, 1);
            }, () => ctx.TryCancel(key));
            if (engine.CancelCalls > before)
            {
                callbackRan++;
            }
            else
            {
                completedFirst++;
            }

            Assert.Equal(1, ReapOne(ctx).Result); // the real result stands: exactly one event
        }

        Assert.Equal(0, violations);
        Assert.True(callbackRan > 0 && completedFirst > 0, $"seed {seed}: callback {callbackRan}, completed first {completedFirst}: the race did not go both ways");
    }

    [Fact]
    public async Task Dispose_CancelsOutstandingThroughCallbacks_AndWaitsForTheirCompletion()
    {
        AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        Iocb[] two = [Iocb.PrepNoop(), Iocb.PrepNoop()];
        two[0].Command = two[1].Command = IocbCommand.Poll;
        two[0].Handle = two[1].Handle = new SafeFileHandle(0, false);
        ctx.Submit(two);
        engine.Submitted.TryDequeue(out RequestSlot? a);
        engine.Submitted.TryDequeue(out RequestSlot? b);
        a!.TrySetCancelCallback();
        engine.OnCancel = s => ThreadPool.QueueUserWorkItem(_ =>
        {
            Thread.Sleep(50);
            engine.Complete(s.Key, -Errno.ECANCELED); // the "kernel" finishes later
        });
        var disposed = new TaskCompletionSource();
        var disposer = new Thread(() =>
        {
            ctx.Dispose();
            disposed.SetResult();
        });
        disposer.Start();
        // b has no callback: teardown marks it and must wait for its completion.
        Assert.True(SpinWait.SpinUntil(() => b!.IsCancelRequested, TimeSpan.FromSeconds(10)));
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(disposed.Task.IsCompleted);
        engine.Complete(b!.Key, -Errno.ECANCELED);
        await disposed.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(1, engine.CancelCalls);
    }
}
