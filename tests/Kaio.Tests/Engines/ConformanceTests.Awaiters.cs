using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>
/// Many tasks awaiting one request at a time, the way .NET code uses the awaitable face: every
/// task makes progress, the bytes are right, and a continuation may do anything a continuation
/// can — dispose the context included — on every engine. (io_uring coalesces such awaiters'
/// submissions and runs their continuations inline in a thread-pool work item.)
/// </summary>
public abstract partial class ConformanceTests
{
    private static readonly AsyncLocal<int> s_loop = new();

    /// <summary>An awaited request that is not alone yields: it does not complete inside its own call, so loops take turns.</summary>
    protected virtual bool AwaitersYield => true;

    [Fact]
    public async Task Awaiters_ManyLoopsOnThePool_EveryLoopReadsAndTheBytesAreRight()
    {
        const int Loops = 32, Block = 4096, Blocks = 256;
        using var file = new TempFile(Block * Blocks);
        using SafeFileHandle h = file.OpenRead();
        await using AioContext ctx = NewContext(Loops);
        CancellationToken ct = TestContext.Current.CancellationToken;
        var reads = new int[Loops];
        int bad = 0, foreignContext = 0;
        using var stop = new CancellationTokenSource();
        int starting = Loops;
        var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loops = new Task[Loops];
        for (int i = 0; i < Loops; i++)
        {
            int me = i;
            loops[i] = Task.Run(() => Loop(me), ct);
        }

        // Every loop has begun; from here each gets a second in which it must complete reads.
        await allStarted.Task.WaitAsync(TimeSpan.FromSeconds(30), ct); // no thread blocked: the pool is the loops'
        await Task.Delay(1000, ct);
        stop.Cancel();
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(0, bad);
        Assert.True(foreignContext == 0, $"{foreignContext} continuations ran with another loop's ExecutionContext");
        if (AwaitersYield)
        {
            int starved = reads.Count(n => n == 0);
            Assert.True(starved == 0, $"{starved} of {Loops} loops completed no read in a second (reads per loop: {string.Join(' ', reads)})");
        }

        AssertIdle(ctx);

        async Task Loop(int me)
        {
            var buffer = new byte[Block];
            var random = new Random(me);
            s_loop.Value = me + 1; // each loop's own ExecutionContext must come back after every await, inline delivery or not
            if (Interlocked.Decrement(ref starting) == 0)
            {
                allStarted.SetResult();
            }

            while (!stop.IsCancellationRequested)
            {
                if (!AwaitersYield)
                {
                    await Task.Yield(); // the loops take turns only if they yield
                }

                int block = random.Next(Blocks);
                int n = await ctx.ReadAsync(h, buffer, (long)block * Block, ct);
                if (s_loop.Value != me + 1)
                {
                    Interlocked.Increment(ref foreignContext);
                }

                if (n != Block || (DoesRealIo && !buffer.AsSpan().SequenceEqual(file.Content.AsSpan(block * Block, Block))))
                {
                    Interlocked.Increment(ref bad);
                }

                reads[me]++;
            }
        }
    }

    [Fact]
    public async Task Awaiters_AContinuationDisposesTheContext_DisposeReturnsAndEveryLoopEnds()
    {
        // `using var ctx` in an async method disposes the context in a continuation: with inline
        // delivery that is inside the engine's own work item, which Dispose must not wait for.
        const int Loops = 16, Block = 4096;
        using var file = new TempFile(Block * 64);
        using SafeFileHandle h = file.OpenRead();
        NewContext(1).Dispose(); // skips with the reason where the engine cannot work
        CancellationToken ct = TestContext.Current.CancellationToken;
        for (int round = 0; round < 20; round++)
        {
            AioContext ctx = AioContext.Setup(Loops, Options());
            int unexpected = 0;
            var loops = new Task[Loops];
            for (int i = 0; i < Loops; i++)
            {
                int me = i;
                loops[i] = Task.Run(() => Loop(me), ct);
            }

            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(30), ct);
            Assert.True(ctx.IsDisposed);
            Assert.Equal(0, unexpected);

            async Task Loop(int me)
            {
                var buffer = new byte[Block];
                try
                {
                    for (int n = 0; ; n++)
                    {
                        if (!AwaitersYield)
                        {
                            await Task.Yield(); // the loops take turns only if they yield
                        }

                        await ctx.ReadAsync(h, buffer, (long)(n % 64) * Block, ct);
                        if (me == 0 && n == 50)
                        {
                            ctx.Dispose(); // synchronous, in the continuation of a completed read
                            return;
                        }
                    }
                }
                catch (ObjectDisposedException)
                {
                    // Submitted after the teardown began.
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // Cancelled by the teardown while in flight.
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref unexpected);
                    throw;
                }
            }
        }
    }
}
