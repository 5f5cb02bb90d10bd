using System.Runtime.CompilerServices;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Context;

[CollectionDefinition(nameof(AwaitedAllocationTests), DisableParallelization = true)]
public sealed class AwaitedAllocationCollection;

/// <summary>
/// Awaited requests that complete after the call — O_DIRECT reads, delivered by the engine's
/// reaper or workers and resumed on the thread pool — allocate nothing either, measured over the
/// whole process (the continuations run on pool threads) with no other test running. The awaiters
/// here are what a storage engine writes (Kaio.Tsavorite's device, say): a cached Action given to
/// the ValueTask's awaiter, not an async method. Each of their completions used to cost a 32-byte
/// thread-pool work item — the value-task source queueing the continuation; an async method's
/// continuation escaped it only because the thread pool special-cases state machines. The request
/// slot is the work item now.
/// </summary>
[Collection(nameof(AwaitedAllocationTests))]
public sealed class AwaitedAllocationTests
{
    [Theory]
    [InlineData(AioEngineKind.IoUring)]
    [InlineData(AioEngineKind.LinuxAio)]
    [InlineData(AioEngineKind.ThreadPool)]
    public async Task ReadAsync_ODirectWithCallbackAwaiters_ZeroBytesPerRead(AioEngineKind engine)
    {
        string? reason = EngineSupport.UnavailableReason(engine);
        if (reason is not null)
        {
            Assert.Skip(reason);
        }

        const int Loops = 8, Block = 4096, Blocks = 256, Reads = 4000;
        using var file = new TempFile(Block * Blocks);
        using SafeFileHandle h = AioFile.Open(file.Path, FileMode.Open, FileAccess.Read, AioOpenOptions.Direct);
        DirectIoAlignment align = AioFile.GetDirectIoAlignment(file.Path);
        using var buffers = new AlignedBufferPool(Block, Math.Max(align.MemoryAlignment, 4096), Loops);
        await using AioContext ctx = AioContext.Setup(Loops, new AioContextOptions { Engine = engine });
        var loops = new ReadLoop[Loops];
        for (int i = 0; i < Loops; i++)
        {
            loops[i] = new ReadLoop(ctx, h, buffers[i], Blocks, Block, seed: i);
        }

        await RunAsync(200); // warm-up: slots, tiering, pool threads
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await RunAsync(Reads / Loops);
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - before;
        TestContext.Current.SendDiagnosticMessage($"awaited O_DIRECT ReadAsync on {engine}: {(double)bytes / Reads:F3} bytes per read");
        // The rounds' own tasks and runtime noise; 32 bytes a read would be 128 KB.
        Assert.True(bytes < 8 * 1024, $"{bytes} bytes for {Reads} awaited reads on {engine}");

        async Task RunAsync(int perLoop)
        {
            foreach (ReadLoop loop in loops)
            {
                loop.Start(perLoop);
            }

            foreach (ReadLoop loop in loops)
            {
                await loop.Done.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            }
        }
    }

    /// <summary>Reads one block at a time, resuming through a cached Action on the ValueTask's awaiter.</summary>
    private sealed class ReadLoop(AioContext ctx, SafeFileHandle handle, Memory<byte> buffer, int blocks, int block, int seed)
    {
        private Action? _resume;
        private ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter _awaiter;
        private int _left;
        private int _next = seed;
        private TaskCompletionSource _done = new();

        public Task Done => _done.Task;

        public void Start(int reads)
        {
            _left = reads;
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ReadNext();
        }

        private void ReadNext()
        {
            while (true)
            {
                _next = (_next + 31) % blocks;
#pragma warning disable CA2012 // the awaiter is kept and consumed once, in Consume: the storage-engine pattern under test
                _awaiter = ctx.ReadAsync(handle, buffer, (long)_next * block).ConfigureAwait(false).GetAwaiter();
#pragma warning restore CA2012
                if (!_awaiter.IsCompleted)
                {
                    _awaiter.UnsafeOnCompleted(_resume ??= Resume);
                    return;
                }

                if (!Consume())
                {
                    return;
                }
            }
        }

        private void Resume()
        {
            if (Consume())
            {
                ReadNext();
            }
        }

        /// <summary>Takes the read's result; false when the loop is done.</summary>
        private bool Consume()
        {
            if (_awaiter.GetResult() != block)
            {
                _done.TrySetException(new InvalidOperationException("short read"));
                return false;
            }

            if (--_left == 0)
            {
                _done.TrySetResult();
                return false;
            }

            return true;
        }
    }
}
