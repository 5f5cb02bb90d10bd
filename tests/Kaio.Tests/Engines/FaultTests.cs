using Kaio.Engines;
using Kaio.Engines.ThreadPool;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>Faults that change results: each must surface exactly as the kernel would report it.</summary>
public sealed class FaultTests
{
    private static AioContext Faulty(FaultPlan plan, out Func<FaultInjectingEngine> engine, int capacity = 16)
    {
        FaultInjectingEngine? made = null;
        var ctx = AioContext.Setup(capacity, new AioContextOptions
        {
            EngineOverride = (completer, cap) => made = new FaultInjectingEngine(completer, inner => new ThreadPoolEngine(inner, cap, 0), plan),
        });
        engine = () => made!;
        return ctx;
    }

    private static IoEvent ReapOne(AioContext ctx)
    {
        var events = new IoEvent[1];
        Assert.Equal(1, ctx.GetEvents(1, events, TimeSpan.FromSeconds(20)));
        return events[0];
    }

    [Fact]
    public async Task Eio_ArrivesAsEventResultAndAsAioException()
    {
        using var file = new TempFile(8192);
        using SafeFileHandle h = file.OpenRead();
        await using AioContext ctx = Faulty(new FaultPlan { EioEvery = 1 }, out _);
        ctx.Submit([Iocb.PrepPread(h, new byte[100], 0)]);
        Assert.Equal(-Errno.EIO, ReapOne(ctx).Result);
        var e = await Assert.ThrowsAsync<AioException>(async () => await ctx.ReadAsync(h, new byte[100], 0, TestContext.Current.CancellationToken));
        Assert.Equal(Errno.EIO, e.Errno);
        Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
    }

    [Fact]
    public void ShortRead_IsTheResult()
    {
        using var file = new TempFile(8192);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = Faulty(new FaultPlan { ShortEvery = 1 }, out _);
        ctx.Submit([Iocb.PrepPread(h, new byte[4096], 0)]);
        Assert.Equal(2048, ReapOne(ctx).Result);
    }

    [Fact]
    public void EngineEagainAtSubmit_RefusesAndLeavesContextWhole()
    {
        using var file = new TempFile(8192);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = Faulty(new FaultPlan { EagainEvery = 2 }, out _);
        Iocb[] iocbs = [Iocb.PrepPread(h, new byte[10], 0, 1), Iocb.PrepPread(h, new byte[10], 0, 2), Iocb.PrepPread(h, new byte[10], 0, 3)];
        Assert.Equal(1, ctx.Submit(iocbs)); // engine submit #2 refused: the batch stops there
        Assert.Equal(1ul, ReapOne(ctx).Data);
        Assert.Equal(1, ctx.Submit(iocbs.AsSpan(1))); // #3 accepted, #4 refused
        Assert.Equal(2ul, ReapOne(ctx).Data);
        Assert.Equal(1, ctx.Submit(iocbs.AsSpan(2, 1))); // #5
        Assert.Equal(3ul, ReapOne(ctx).Data);
        Assert.Equal(Errno.EAGAIN, Assert.Throws<AioException>(() => ctx.Submit(iocbs.AsSpan(2, 1))).Errno); // #6, refused first: thrown
        Assert.Equal(0, ctx.GetEvents(0, new IoEvent[4], TimeSpan.FromMilliseconds(50)));
        Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
        Assert.Equal(ctx.Capacity, ctx.FreeTags);
    }

    [Fact]
    public void DuplicateCompletion_IsIgnored_ExactlyOneEvent()
    {
        using AioContext ctx = Faulty(new FaultPlan { Duplicate = true }, out Func<FaultInjectingEngine> engine);
        using var file = new TempFile(8192);
        using SafeFileHandle h = file.OpenRead();
        for (int i = 0; i < 50; i++)
        {
            ctx.Submit([Iocb.PrepPread(h, new byte[10], 0, (ulong)i)]);
            Assert.Equal((ulong)i, ReapOne(ctx).Data);
        }

        Assert.Equal(0, ctx.GetEvents(0, new IoEvent[4], TimeSpan.FromMilliseconds(50)));
        // The duplicate of the last request may still be on its way: every one is refused.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref engine().Ignored) == 50, TimeSpan.FromSeconds(5)), $"ignored {engine().Ignored} of 50 duplicates");
    }

    [Fact]
    public void StaleCompletion_AfterSlotReuse_NeverReachesTheNewerRequest()
    {
        var (r, w) = Native.Pipe();
        using (r)
        using (w)
        {
            using AioContext ctx = AioContext.Setup(1, new AioContextOptions { Engine = AioEngineKind.ThreadPool });
            Span<Iocb> one = [Iocb.PrepNoop(1)];
            ctx.Submit(one);
            ulong stale = one[0].Key;
            ReapOne(ctx);
            one[0] = Iocb.PrepPoll(r, PollEvents.In, 2);
            ctx.Submit(one); // same tag (capacity 1), newer generation
            Assert.NotEqual(stale, one[0].Key);
            Assert.Equal(Kaio.Core.RequestKey.TagOf(stale), Kaio.Core.RequestKey.TagOf(one[0].Key));
            Assert.False(((IRequestCompleter)ctx).Complete(stale, 999, 0));
            Assert.Equal(0, ctx.GetEvents(1, new IoEvent[1], TimeSpan.FromMilliseconds(50)));
            Native.WriteByte(w, 1);
            IoEvent ev = ReapOne(ctx);
            Assert.Equal(2ul, ev.Data);
            Assert.NotEqual(999, ev.Result);
        }
    }
}
