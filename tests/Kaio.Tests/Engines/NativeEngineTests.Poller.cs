using System.Runtime.InteropServices;
using Kaio.Tests.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace Kaio.Tests.Engines;

/// <summary>
/// The awaiters' poller of the native engines: a thread-pool work item that submits for the
/// awaiters, waits in the kernel while their O_DIRECT requests are there, and runs their
/// continuations inline (IoUringEngine.FlushAwaited, LinuxAioEngine.Poller.cs).
/// </summary>
public abstract partial class NativeEngineTests
{
    private const int FileBytes = 1 << 20;

    [Fact]
    public async Task Poller_AnAwaitedODirectLoop_RunsItsContinuationsInTheEnginesWorkItem()
    {
        // One task reading O_DIRECT, one read at a time: each read is alone, so it is submitted
        // at once and the engine's work item waits for it and runs the continuation inline, where
        // the next read is submitted into the same loop (fio's QD1). Before the poller, every
        // continuation went reaper → thread-pool queue (none ran inline).
        using AioContext ctx = NewContext(16);
        using var file = new TempFile(FileBytes);
        using SafeFileHandle direct = AioFile.Open(file.Path, FileMode.Open, FileAccess.Read, AioOpenOptions.Direct);
        CancellationToken ct = TestContext.Current.CancellationToken;
        const int Reads = 300;
        int inline = await Task.Run(
            async () =>
            {
                nint buffer = AllocAligned();
                try
                {
                    int seen = 0;
                    for (int i = 0; i < Reads; i++)
                    {
                        Assert.Equal(4096, await ctx.ReadAsync(direct, buffer, 4096, (i * 4096L) % FileBytes, ct));
                        seen += Kaio.Engines.AioEngine.InlineContinuations ? 1 : 0;
                    }

                    return seen;
                }
                finally
                {
                    FreeAligned(buffer);
                }
            },
            ct);

        // Not all: the work item stops polling when other work waits for a pool thread (other
        // tests run meanwhile), or a wait brings nothing within 1 ms; the next read then goes
        // through the reaper once. Run alone here (a benchmark beside it) 110-270 of 300 ran inline; with the
        // suite around it, fewer than 30 in one run (a pool that always has work queued never lets the item
        // poll; the continuations it runs then are those whose completion came before it ran).
        Assert.True(inline >= 1, $"{inline} of {Reads} continuations ran inline in the engine's work item");
    }

    [Fact]
    public async Task Poller_AContinuationThatBlocksInIt_DoesNotHoldBackTheOtherAwaiters()
    {
        // Loops A and C read O_DIRECT; once armed, A's next continuation that runs inline in the
        // engine's work item blocks there for up to 10 s. C must go on reading meanwhile: the
        // reaper stops trusting a poller that makes no round for 10 ms and reaps again. C gets up
        // to 8 s for 5 reads: alone here it makes hundreds a second, but with the whole suite
        // running each of its hops waits in a busy thread pool's queue.
        using AioContext ctx = NewContext(16);
        using var file = new TempFile(FileBytes);
        using SafeFileHandle direct = AioFile.Open(file.Path, FileMode.Open, FileAccess.Read, AioOpenOptions.Direct);
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var release = new ManualResetEventSlim();
        using var stop = new CancellationTokenSource();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int armed = 0;
        long cReads = 0;

        async Task Loop(bool isA)
        {
            nint buffer = AllocAligned();
            try
            {
                for (long i = 0; !stop.IsCancellationRequested; i++)
                {
                    Assert.Equal(4096, await ctx.ReadAsync(direct, buffer, 4096, (i * 4096) % FileBytes, ct));
                    if (!isA)
                    {
                        Interlocked.Increment(ref cReads);
                    }
                    else if (Kaio.Engines.AioEngine.InlineContinuations && Interlocked.CompareExchange(ref armed, 0, 1) == 1)
                    {
                        blocked.SetResult();
                        release.Wait(TimeSpan.FromSeconds(10), ct);
                    }
                }
            }
            finally
            {
                FreeAligned(buffer);
            }
        }

        Task a = Task.Run(() => Loop(isA: true), ct);
        Task c = Task.Run(() => Loop(isA: false), ct);
        try
        {
            while (Interlocked.Read(ref cReads) < 200)
            {
                await Task.Delay(5, ct);
            }

            Volatile.Write(ref armed, 1);
            if (await Task.WhenAny(blocked.Task, Task.Delay(TimeSpan.FromSeconds(10), ct)) != blocked.Task)
            {
                Assert.Skip("A's continuation never ran inline in the engine's work item in 10 s (a busy thread pool stops the polling)");
            }

            long before = Interlocked.Read(ref cReads);
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (Interlocked.Read(ref cReads) - before < 5 && waited.Elapsed < TimeSpan.FromSeconds(8))
            {
                await Task.Delay(10, ct);
            }

            long during = Interlocked.Read(ref cReads) - before;
            string state = ctx.EngineForCallbacks is Kaio.Engines.IoUring.IoUringEngine uring ? "; io_uring: " + uring.DescribeState() : "";
            Assert.True(during >= 5, $"loop C made {during} reads in {waited.Elapsed.TotalSeconds:0.0} s while A's continuation blocked the work item (before: {before} reads){state}");
        }
        finally
        {
            release.Set();
            stop.Cancel();
            await Task.WhenAll(a, c).WaitAsync(TimeSpan.FromSeconds(10), ct);
        }
    }

    private protected static unsafe nint AllocAligned() => (nint)NativeMemory.AlignedAlloc(4096, 4096);

    private protected static unsafe void FreeAligned(nint buffer) => NativeMemory.AlignedFree((void*)buffer);
}
