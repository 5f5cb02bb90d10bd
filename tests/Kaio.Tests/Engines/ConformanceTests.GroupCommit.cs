using System.Buffers;
using System.Collections.Concurrent;
using Kaio.Core;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>
/// Group commit (DeferredWorkQueue): DSYNC/SYNC writes and flushes on a buffered file are made
/// durable by syncs shared between them, each begun after the writes it covers completed, and no
/// event arrives before its sync returned. Instrumented through DeferredWorkQueue.Covered, which
/// reports (fd, tick the item was queued, tick its sync began) after the sync returned and before
/// the item is delivered.
/// </summary>
public abstract partial class ConformanceTests
{
    /// <summary>Records what the work queue's syncs covered for one descriptor.</summary>
    private sealed class CoverLog : IDisposable
    {
        private readonly int _fd;
        private readonly Action<int, long, long> _handler;

        internal CoverLog(SafeFileHandle handle)
        {
            _fd = (int)handle.DangerousGetHandle();
            _handler = (fd, queuedAt, began) =>
            {
                if (fd == _fd)
                {
                    Items.Enqueue((queuedAt, began));
                }
            };
            DeferredWorkQueue.Covered += _handler;
        }

        internal ConcurrentQueue<(long QueuedAt, long Began)> Items { get; } = new();

        public void Dispose() => DeferredWorkQueue.Covered -= _handler;
    }

    [Fact]
    public void GroupCommit_ManyConcurrentDsyncWrites_FewerSyncsThanWrites_NoEventBeforeItsSync()
    {
        RequireRealIo();
        const int N = 64;
        using var file = new TempFile(N * 4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using var log = new CoverLog(h);
        using AioContext ctx = NewContext(N);
        var batch = new Iocb[N];
        for (int i = 0; i < N; i++)
        {
            var data = new byte[4096];
            Array.Fill(data, (byte)i);
            batch[i] = Iocb.PrepPwrite(h, data, (long)i * 4096, data: (ulong)i, flags: AioRwFlags.Dsync);
        }

        Assert.Equal(N, ctx.Submit(batch));
        int reaped = 0;
        var events = new IoEvent[N];
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (reaped < N)
        {
            int n = ctx.GetEvents(1, events.AsSpan(reaped), TimeSpan.FromMilliseconds(200));
            reaped += n;
            // Every event reaped so far was covered by a sync that had returned before it was
            // delivered: the log (written after the sync, before delivery) holds at least as many.
            Assert.True(log.Items.Count >= reaped, $"{reaped} events delivered, only {log.Items.Count} covered by a finished sync");
            Assert.True(DateTime.UtcNow < deadline, $"only {reaped} of {N} events");
        }

        Assert.All(events, ev => Assert.Equal(4096, ev.Result));
        Assert.Equal(N, log.Items.Count);
        Assert.All(log.Items, item => Assert.True(item.Began > item.QueuedAt, "a sync that began before the write completed covered it"));
        int syncs = log.Items.Select(item => item.Began).Distinct().Count();
        Assert.True(syncs < N, $"{N} concurrent DSYNC writes took {syncs} syncs: no grouping");

        var back = new byte[4096];
        for (int i = 0; i < N; i++)
        {
            RandomAccess.Read(h, back, (long)i * 4096);
            Assert.All(back, b => Assert.Equal((byte)i, b));
        }
    }

    /// <summary>
    /// An O_DIRECT write with RWF_DSYNC keeps the flag on every engine that does real I/O: the
    /// kernel makes that write durable itself (a FUA write where the device has it), and no group
    /// sync of the work queue covers it. The thread-pool engine used to group-commit it, two more
    /// thread hand-offs per write (2x the CPU per durable write at queue depth 1).
    /// </summary>
    [Fact]
    public void GroupCommit_DirectDsyncWrite_KeepsTheNativeFlag_NoGroupSyncCoversIt()
    {
        RequireRealIo();
        using var file = new TempFile(16 * 4096);
        using SafeFileHandle h = AioFile.Open(file.Path, FileMode.Open, FileAccess.ReadWrite, AioOpenOptions.Direct);
        using var log = new CoverLog(h);
        using AioContext ctx = NewContext(4);
        using var buffers = new AlignedBufferPool(4096, 4096, 1);
        using IMemoryOwner<byte> buffer = buffers.Rent();
        var events = new IoEvent[1];
        for (int i = 0; i < 8; i++)
        {
            Memory<byte> data = buffer.Memory;
            data.Span.Fill((byte)(i + 1));
            Iocb[] one = [Iocb.PrepPwrite(h, data, (long)i * 4096, data: (ulong)i, flags: AioRwFlags.Dsync)];
            Assert.Equal(1, ctx.Submit(one));
            Assert.Equal(1, ctx.GetEvents(1, events, TimeSpan.FromSeconds(30)));
            Assert.Equal(4096, events[0].Result);
        }

        Assert.Empty(log.Items);
    }

    [Fact]
    public void GroupCommit_FailedSync_FailsEveryWriteItCovered_LaterOnesStandOnTheirOwnSync()
    {
        RequireRealIo();
        const int N = 16;
        using var file = new TempFile(N * 4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using var log = new CoverLog(h);
        using AioContext ctx = NewContext(N);
        DeferredWorkQueue.FailNextSync((int)h.DangerousGetHandle(), Errno.EIO);
        var batch = new Iocb[N];
        for (int i = 0; i < N; i++)
        {
            batch[i] = Iocb.PrepPwrite(h, new byte[4096], (long)i * 4096, data: (ulong)i, flags: AioRwFlags.Dsync);
        }

        Assert.Equal(N, ctx.Submit(batch));
        IoEvent[] events = Reap(ctx, N);
        Assert.All(events, ev => Assert.True(ev.Result is 4096 or -Errno.EIO, $"res {ev.Result}"));
        long failedSync = log.Items.Min(item => item.Began); // the first sync on this fd was the failing one
        int covered = log.Items.Count(item => item.Began == failedSync);
        Assert.Equal(covered, events.Count(ev => ev.Result == -Errno.EIO)); // each covered write saw the error
        Assert.True(covered >= 1);
    }

    [Fact]
    public async Task GroupCommit_Flush_CoversWritesCompletedBeforeIt_ThroughTheSharedSync()
    {
        RequireRealIo();
        using var file = new TempFile(8192);
        using SafeFileHandle h = file.OpenReadWrite();
        using var log = new CoverLog(h);
        await using AioContext ctx = NewContext();
        await ctx.WriteAsync(h, new byte[4096], 0, cancellationToken: TestContext.Current.CancellationToken);
        await ctx.FlushAsync(h, dataOnly: true, TestContext.Current.CancellationToken);
        await ctx.FlushAsync(h, dataOnly: false, TestContext.Current.CancellationToken);
        // Both flushes went through the work queue, each to a sync that began after it was queued.
        Assert.Equal(2, log.Items.Count);
        Assert.All(log.Items, item => Assert.True(item.Began > item.QueuedAt));
    }

    [Fact]
    public async Task FlushDirectoryAsync_SyncsTheDirectory_RefusesWhatIsNotOne()
    {
        RequireRealIo();
        string dir = Path.Combine(Path.GetTempPath(), "kaio-dir-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "wal-000001");
            await File.WriteAllBytesAsync(file, new byte[512], TestContext.Current.CancellationToken);
            await using AioContext ctx = NewContext();
            await ctx.FlushDirectoryAsync(dir, TestContext.Current.CancellationToken); // the new entry is durable
            Assert.Equal(ctx.Capacity, ctx.AvailableSlots);

            var notDir = await Assert.ThrowsAsync<AioException>(async () => await ctx.FlushDirectoryAsync(file, TestContext.Current.CancellationToken));
            Assert.Equal("ENOTDIR", Errno.Name(notDir.Errno));
            var missing = await Assert.ThrowsAsync<AioException>(async () => await ctx.FlushDirectoryAsync(Path.Combine(dir, "nope"), TestContext.Current.CancellationToken));
            Assert.Equal(Errno.ENOENT, missing.Errno);
            Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
