using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>Iocb.StartsAfterPrevious on every engine: writes, then a sync that starts after them, in one Submit.</summary>
public abstract partial class ConformanceTests
{
    [Fact]
    public void Ordered_WritesThenSyncInOneSubmit_SyncEventLastAndDataThere()
    {
        const int Writes = 8, Block = 4096;
        using var file = new TempFile(Writes * Block);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        var blocks = new byte[Writes][];
        var iocbs = new Iocb[Writes + 1];
        for (int i = 0; i < Writes; i++)
        {
            blocks[i] = new byte[Block];
            blocks[i].AsSpan().Fill((byte)(i + 1));
            iocbs[i] = Iocb.PrepPwrite(h, blocks[i], (long)i * Block, data: (ulong)i);
        }

        iocbs[Writes] = Iocb.PrepFdsync(h, data: 100) with { StartsAfterPrevious = true };
        Assert.Equal(Writes + 1, ctx.Submit(iocbs));

        IoEvent[] events = Reap(ctx, Writes + 1);
        Assert.Equal(100UL, events[^1].Data); // after every write's event
        Assert.All(events, ev => Assert.Equal(ev.Data == 100 ? 0 : Block, ev.Result));
        if (DoesRealIo)
        {
            byte[] content = File.ReadAllBytes(file.Path);
            for (int i = 0; i < Writes; i++)
            {
                Assert.True(content.AsSpan(i * Block, Block).IndexOfAnyExcept((byte)(i + 1)) < 0, $"block {i}");
            }
        }

        AssertIdle(ctx);
    }

    [Fact]
    public void Ordered_HeldBehindAWaitingPoll_StartsOnlyWhenThePollEnds_AndACancelEndsItThen()
    {
        RequireRealIo();
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        var (readEnd, writeEnd) = Native.Pipe();
        using (readEnd)
        using (writeEnd)
        {
            using AioContext ctx = NewContext();
            Span<Iocb> iocbs = [Iocb.PrepPoll(readEnd, PollEvents.In, 1), Iocb.PrepFsync(h, 2) with { StartsAfterPrevious = true }];
            Assert.Equal(2, ctx.Submit(iocbs));
            var events = new IoEvent[2];
            Assert.Equal(0, ctx.GetEvents(1, events, TimeSpan.FromMilliseconds(200))); // the fsync waits for the poll

            ctx.Cancel(iocbs[1].Key); // asks; the held fsync still waits for its turn
            Assert.Equal(0, ctx.GetEvents(1, events, TimeSpan.FromMilliseconds(100)));

            ctx.Cancel(iocbs[0].Key);
            IoEvent[] got = Reap(ctx, 2);
            Assert.Equal([1UL, 2UL], got.Select(e => e.Data));
            Assert.Equal(-Errno.ECANCELED, got[0].Result);
            Assert.Equal(-Errno.ECANCELED, got[1].Result);
            AssertIdle(ctx);
        }
    }

    [Fact]
    public void Ordered_TwoOrderedRequestsInOneCall_EachWaitsForTheOnesBefore()
    {
        RequireRealIo();
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        var (readEnd, writeEnd) = Native.Pipe();
        using (readEnd)
        using (writeEnd)
        {
            using AioContext ctx = NewContext();
            byte[] block = new byte[512];
            Span<Iocb> iocbs =
            [
                Iocb.PrepPoll(readEnd, PollEvents.In, 1),
                Iocb.PrepFdsync(h, 2) with { StartsAfterPrevious = true },
                Iocb.PrepPwrite(h, block, 0, data: 3),
                Iocb.PrepFsync(h, 4) with { StartsAfterPrevious = true },
            ];
            Assert.Equal(4, ctx.Submit(iocbs));

            // The write needs nobody: it completes; both syncs wait (the second for the first).
            var events = new IoEvent[4];
            IoEvent write = Reap(ctx, 1)[0];
            Assert.Equal(3UL, write.Data);
            Assert.Equal(0, ctx.GetEvents(1, events, TimeSpan.FromMilliseconds(200)));

            Native.WriteByte(writeEnd, 1); // the poll is satisfied: then sync 2, then sync 4
            Assert.Equal([1UL, 2UL, 4UL], Reap(ctx, 3).Select(e => e.Data));
            AssertIdle(ctx);
        }
    }

    [Fact]
    public async Task Ordered_DisposeWithAHeldRequest_CompletesEverything()
    {
        RequireRealIo();
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        var (readEnd, writeEnd) = Native.Pipe();
        using (readEnd)
        using (writeEnd)
        {
            AioContext ctx = NewContext();
            Iocb[] iocbs = [Iocb.PrepPoll(readEnd, PollEvents.In, 1), Iocb.PrepFdsync(h, 2) with { StartsAfterPrevious = true }];
            Assert.Equal(2, ctx.Submit(iocbs));
            CancellationToken ct = TestContext.Current.CancellationToken;
            await Task.Run(ctx.Dispose, ct).WaitAsync(TimeSpan.FromSeconds(20), ct); // hangs if the held request is never completed
        }
    }

    [Fact]
    public void Ordered_OnTheFirstRequestOfACall_NoEffect()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        IoEvent ev = SubmitOne(ctx, Iocb.PrepFdsync(h, 7) with { StartsAfterPrevious = true });
        Assert.Equal(7UL, ev.Data);
        Assert.Equal(0, ev.Result);
    }
}
