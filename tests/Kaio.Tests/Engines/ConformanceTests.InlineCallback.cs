using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>Iocb.CallbackRunsInline on every engine: the callback runs on the delivering thread, never queued to the pool.</summary>
public abstract partial class ConformanceTests
{
    private sealed class RecordingCallback : IIoCompletionCallback
    {
        public readonly TaskCompletionSource<(IoEvent Event, int Thread, bool PoolThread)> Ran = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnCompleted(in IoEvent ioEvent)
            => Ran.TrySetResult((ioEvent, Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread));
    }

    [Fact]
    public async Task InlineCallback_RequestCompletingInsideSubmit_RanBeforeSubmitReturned_OnTheSubmittingThread()
    {
        using AioContext ctx = NewContext();
        var callback = new RecordingCallback();
        Iocb[] one = [Iocb.PrepNoop(data: 5) with { Callback = callback, CallbackRunsInline = true }];
        int submitter = Environment.CurrentManagedThreadId;
        Assert.Equal(1, ctx.Submit(one)); // a Noop completes at arm, inside Submit, on every engine
        Assert.True(callback.Ran.Task.IsCompleted, "the inline callback had not run when Submit returned");
        (IoEvent ev, int thread, _) = await callback.Ran.Task;
        Assert.Equal(submitter, thread);
        Assert.Equal(5UL, ev.Data);
        Assert.Equal(0, ev.Result);
        AssertIdle(ctx);
    }

    [Fact]
    public async Task InlineCallback_PollCompletedLater_RunsOnTheEnginesThread_NotThePool()
    {
        RequireRealIo();
        var (readEnd, writeEnd) = Native.Pipe();
        using (readEnd)
        using (writeEnd)
        {
            using AioContext ctx = NewContext();
            var callback = new RecordingCallback();
            Span<Iocb> one = [Iocb.PrepPoll(readEnd, PollEvents.In, 9) with { Callback = callback, CallbackRunsInline = true }];
            Assert.Equal(1, ctx.Submit(one));
            Native.WriteByte(writeEnd, 1);
            (IoEvent ev, _, bool poolThread) = await callback.Ran.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            Assert.False(poolThread, "an inline callback was queued to the thread pool");
            Assert.Equal(9UL, ev.Data);
            Assert.True((ev.Result & PollEvents.In) != 0);
        }
    }

    [Fact]
    public void InlineCallback_AlsoBlocking_EinvalAtSubmit()
    {
        using AioContext ctx = NewContext();
        AioException e = SubmitRefused(ctx, Iocb.PrepNoop() with { Callback = new RecordingCallback(), CallbackRunsInline = true, CallbackIsBlocking = true });
        Assert.Equal(Errno.EINVAL, e.Errno);
        AssertIdle(ctx);
    }
}
