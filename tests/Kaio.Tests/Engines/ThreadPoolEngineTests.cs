using Kaio.Engines;
using Kaio.Engines.ThreadPool;
using Kaio.Tests.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace Kaio.Tests.Engines;

/// <summary>
/// The thread-pool engine's own machinery: the hand-off to idle workers (each woken through its
/// eventfd) and the callers' futex wait (CallerWaitGate).
/// </summary>
public sealed class ThreadPoolEngineTests
{
    [Fact]
    public void CallerWaitGate_AWakeBetweenBeginAndWait_EndsTheWaitAtOnce()
    {
        // The lost wake-up the token exists for: the caller announced itself and re-checked the
        // ring (empty), then the producer published and woke before the caller slept. The wait
        // must see the sequence changed and return, not sleep out its timeout.
        using var gate = new CallerWaitGate();
        int token = gate.Begin();
        gate.Wake();
        long start = Environment.TickCount64;
        gate.Wait(token, 30_000);
        gate.End();
        Assert.True(Environment.TickCount64 - start < 10_000, "the wait slept although it had been woken after Begin");
    }

    [Fact]
    public async Task CallerWaitGate_Wake_EndsEverySleepingWait()
    {
        using var gate = new CallerWaitGate();
        const int Sleepers = 4;
        using var announced = new CountdownEvent(Sleepers);
        var waits = new Task[Sleepers];
        for (int i = 0; i < Sleepers; i++)
        {
            waits[i] = Task.Factory.StartNew(
                () =>
                {
                    int token = gate.Begin();
                    announced.Signal();
                    gate.Wait(token, 60_000);
                    gate.End();
                },
                TestContext.Current.CancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        announced.Wait(TestContext.Current.CancellationToken);
        gate.Wake();
        // Every sleeper, not one: FUTEX_WAKE of all. 60 s is the sleepers' timeout, far above this.
        await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
    }

    [Fact]
    public void CallerWaitGate_NoCallerWaits_WakeLeavesTheSequenceAlone()
    {
        // Cheap when nobody waits: a later caller's token is not disturbed by wakes before it.
        using var gate = new CallerWaitGate();
        int before = gate.Begin();
        gate.End();
        gate.Wake();
        Assert.Equal(before, gate.Begin());
        gate.End();
    }

    [Fact]
    public async Task OneReadAtATime_ReusesTheIdleWorker()
    {
        // At QD1 a request finds the worker that served the previous one idle (on the stack,
        // waiting on its eventfd) and wakes it: not a worker per request. Two at most: a request
        // may be queued while the last worker is between its completion and going idle, and then
        // a second one starts (and from then on one of the two is always idle).
        using var file = new TempFile(1 << 16);
        using SafeFileHandle h = AioFile.Open(file.Path, FileMode.Open, FileAccess.Read, AioOpenOptions.Direct);
        using AioContext ctx = AioContext.Setup(8, new AioContextOptions { Engine = AioEngineKind.ThreadPool });
        var engine = (ThreadPoolEngine)ctx.EngineForCallbacks;
        nint buffer = AllocAligned();
        try
        {
            for (int i = 0; i < 100; i++)
            {
                Assert.Equal(4096, await ctx.ReadAsync(h, buffer, 4096, (i % 16) * 4096L, TestContext.Current.CancellationToken));
            }
        }
        finally
        {
            FreeAligned(buffer);
        }

        Assert.InRange(engine.StartedWorkers, 1, 2);
    }

    private static unsafe nint AllocAligned() => (nint)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(4096, 4096);

    private static unsafe void FreeAligned(nint buffer) => System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)buffer);
}
