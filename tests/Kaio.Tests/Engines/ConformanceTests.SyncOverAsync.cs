using Kaio.Tests.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace Kaio.Tests.Engines;

/// <summary>
/// A continuation of an awaited request may block on the same context — wait synchronously for
/// another of its requests, or dispose it while a request is outstanding — wherever the engine
/// runs it (inline in the native engines' work item, on a worker). Neither may hang: an engine
/// must not leave a request for the blocked thread to hand to the kernel later.
/// </summary>
public abstract partial class ConformanceTests
{
    private const int SyncOverAsyncFileBytes = 1 << 20;

    [Fact]
    public async Task AContinuationThatWaitsSynchronouslyForAnotherRead_GetsIt()
    {
        RequireRealIo();
        using var files = new DirectFileAndPipe();
        var buffers = new AlignedBufferPool(4096, 4096, 2); // freed only once the context is gone
        int inlineSeen = 0, rounds = 0;
        string failure = "";
        AioContext ctx = NewContext(16);
        try
        {
            // Outstanding all along: no awaited read below is alone (the native engines' work item
            // then runs the continuations it reaps inline).
            Iocb[] poll = [Iocb.PrepPoll(files.PipeRead, PollEvents.In, 99)];
            Assert.Equal(1, ctx.Submit(poll));
            CancellationToken ct = TestContext.Current.CancellationToken;
            await Task.Run(
                async () =>
                {
                    for (int i = 0; i < 200 && (inlineSeen < 20 || i < 20); i++, rounds++)
                    {
                        long offset = (i * 8192L) % SyncOverAsyncFileBytes;
                        Assert.Equal(4096, await ctx.ReadAsync(files.Direct, buffers[0], offset, ct));
                        bool inline = Kaio.Engines.AioEngine.InlineContinuations;
                        inlineSeen += inline ? 1 : 0;
                        Task<int> second = ctx.ReadAsync(files.Direct, buffers[1], offset + 4096, ct).AsTask();
                        if (!second.Wait(TimeSpan.FromSeconds(5), ct))
                        {
                            string state = ctx.EngineForCallbacks is Kaio.Engines.IoUring.IoUringEngine uring ? "; io_uring: " + uring.DescribeState() : "";
                            failure = $"round {i}: a read waited for synchronously in a continuation (inline in the engine's work item: {inline}) did not complete in 5 s{state}";
                            return;
                        }

                        Assert.Equal(4096, second.Result);
                        Assert.True(buffers[1].Span.SequenceEqual(files.File.Content.AsSpan((int)offset + 4096, 4096)), $"round {i}: wrong bytes");
                    }
                },
                ct);
            TestContext.Current.SendDiagnosticMessage($"{GetType().Name}: {inlineSeen} of {rounds} continuations ran inline in the engine's work item");
        }
        finally
        {
            // A stuck request keeps its buffer: it is freed only after Dispose returned.
            if (await DisposedWithin(ctx, TimeSpan.FromSeconds(10)))
            {
                buffers.Dispose();
            }
            else
            {
                failure += " (and Dispose did not return in 10 s)";
            }
        }

        Assert.True(failure.Length == 0, failure);
    }

    /// <summary>A file of random bytes opened O_DIRECT, and a pipe whose read end a poll can wait on for good.</summary>
    private sealed class DirectFileAndPipe : IDisposable
    {
        private readonly SafeFileHandle _pipeWrite;

        public DirectFileAndPipe()
        {
            File = new TempFile(SyncOverAsyncFileBytes);
            Direct = AioFile.Open(File.Path, FileMode.Open, FileAccess.Read, AioOpenOptions.Direct);
            (PipeRead, _pipeWrite) = Native.Pipe();
        }

        public TempFile File { get; }

        public SafeFileHandle Direct { get; }

        public SafeFileHandle PipeRead { get; }

        public void Dispose()
        {
            PipeRead.Dispose();
            _pipeWrite.Dispose();
            Direct.Dispose();
            File.Dispose();
        }
    }

    /// <summary>Disposes on another thread; false if Dispose has not returned within <paramref name="limit"/>.</summary>
    private static async Task<bool> DisposedWithin(AioContext ctx, TimeSpan limit)
    {
        Task dispose = Task.Run(ctx.Dispose);
        return await Task.WhenAny(dispose, Task.Delay(limit)) == dispose;
    }

    [Fact]
    public async Task AContinuationThatDisposesTheContext_WithARequestOutstanding_Returns()
    {
        RequireRealIo();
        using var files = new DirectFileAndPipe();
        var buffers = new AlignedBufferPool(4096, 4096, 2); // freed only if every Dispose returned: a stuck read keeps its buffer
        CancellationToken ct = TestContext.Current.CancellationToken;
        for (int round = 0; round < 10; round++)
        {
            AioContext ctx = NewContext(16);
            Iocb[] poll = [Iocb.PrepPoll(files.PipeRead, PollEvents.In, 99)];
            Assert.Equal(1, ctx.Submit(poll));
            var disposed = new TaskCompletionSource<(bool Inline, ValueTask<int> Second)>(TaskCreationOptions.RunContinuationsAsynchronously);
            _ = Task.Run(
                async () =>
                {
                    try
                    {
                        Assert.Equal(4096, await ctx.ReadAsync(files.Direct, buffers[0], 0, ct));
                        bool inline = Kaio.Engines.AioEngine.InlineContinuations;
                        ValueTask<int> second = ctx.ReadAsync(files.Direct, buffers[1], 4096, ct); // outstanding when Dispose starts
                        ctx.Dispose();
                        disposed.SetResult((inline, second));
                    }
                    catch (Exception e)
                    {
                        disposed.SetException(e);
                    }
                },
                ct);

            Task finished = await Task.WhenAny(disposed.Task, Task.Delay(TimeSpan.FromSeconds(10), ct));
            Assert.True(finished == disposed.Task, $"round {round}: Dispose called in a continuation with a read outstanding did not return in 10 s");
            (bool wasInline, ValueTask<int> pending) = await disposed.Task;

            // Dispose returned: the read ended, whole or cancelled, and its buffer is free again.
            Assert.True(pending.IsCompleted, $"round {round}: the read outstanding at Dispose had not ended when Dispose returned (inline: {wasInline})");
            try
            {
                Assert.Equal(4096, await pending);
            }
            catch (OperationCanceledException)
            {
                // Cancelled by the Dispose (an awaited request's ECANCELED).
            }
        }

        buffers.Dispose();
    }
}
