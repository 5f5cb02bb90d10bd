using Kaio.Core;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Core;

/// <summary>Teardown driven by events: DisposeAsync never blocks a thread, and finishes when the last request is delivered.</summary>
public sealed class TeardownTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task DisposeAsync_WhileACallerIsStillInsideSubmit_ReturnsWithoutBlocking_ThenFinishesAfterTheLastDelivery()
    {
        AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        using var inSubmit = new ManualResetEventSlim();
        using var leaveSubmit = new ManualResetEventSlim();
        engine.OnSubmit = _ =>
        {
            inSubmit.Set();
            leaveSubmit.Wait(s_timeout);
        };
        ulong key = 0;
        Task submitter = Task.Run(() =>
        {
            Span<Iocb> one = [Iocb.PrepPoll(new SafeFileHandle(0, false), PollEvents.In, 1)];
            Assert.Equal(1, ctx.Submit(one));
            key = one[0].Key;
        }, TestContext.Current.CancellationToken);
        Assert.True(inSubmit.Wait(s_timeout, TestContext.Current.CancellationToken));

        // The call itself must return at once: the submitter still holds a user reference, and
        // waiting for it is the returned task's business, not the calling thread's.
        Task<Task> call = Task.Factory.StartNew(() => ctx.DisposeAsync().AsTask(), TestContext.Current.CancellationToken, TaskCreationOptions.None, TaskScheduler.Default);
        bool returned = await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken)) == call;
        leaveSubmit.Set(); // lets an old, blocking DisposeAsync go on too, so the test ends either way
        Assert.True(returned, "DisposeAsync blocked its caller while a user was inside Submit");
        Task disposing = await call;
        Assert.False(disposing.IsCompleted);

        await submitter.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Assert.True(engine.Submitted.TryDequeue(out RequestSlot? slot));
        // Once the submitter left, teardown cancels the request (a mark: no callback was
        // registered) and waits for its delivery, woken by it rather than by a rescan.
        Assert.True(SpinWait.SpinUntil(() => slot.IsCancelRequested, s_timeout));
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(disposing.IsCompleted);
        Assert.True(engine.Complete(key, -Errno.ECANCELED));
        await disposing.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Assert.True(ctx.IsDisposed);
    }

    [Fact]
    public async Task Dispose_ManyAwaitedReadsDeliveredFromOtherThreads_FinishesEveryTime()
    {
        // Deliveries racing teardown's scan: each must either be seen idle by the scan or wake
        // the drain (there is no periodic rescan to save a lost wake-up: a loss would hang here).
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        for (int round = 0; round < 200; round++)
        {
            AioContext ctx = ManualEngine.NewContext(out ManualEngine engine, capacity: 16);
            var reads = new List<Task<int>>();
            for (int i = 0; i < 8; i++)
            {
                reads.Add(ctx.ReadAsync(h, new byte[16], 0, TestContext.Current.CancellationToken).AsTask());
            }

            var slots = engine.Submitted.ToArray();
            Task completer = Task.Run(() =>
            {
                foreach (RequestSlot s in slots)
                {
                    engine.Complete(s.Key, 16);
                }
            }, TestContext.Current.CancellationToken);
            Task disposed = round % 2 == 0 ? ctx.DisposeAsync().AsTask() : Task.Run(ctx.Dispose, TestContext.Current.CancellationToken);
            await Task.WhenAll(completer, disposed).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
            foreach (Task<int> read in reads)
            {
                Assert.Equal(16, await read);
            }
        }
    }
}
