using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>AioFullBehavior.Wait on every engine: unbounded concurrent awaits on a small context, no EAGAIN.</summary>
public abstract partial class ConformanceTests
{
    [Fact]
    public async Task WaitWhenFull_TenThousandConcurrentReads_AllCompleteWithoutEagain()
    {
        const int Reads = 10_000;
        using var file = new TempFile(1 << 16);
        using SafeFileHandle h = file.OpenRead();
        string? reason = EngineSupport.UnavailableReason(Kind);
        if (reason is not null)
        {
            Assert.Skip(reason);
        }

        AioContextOptions options = Options();
        options.WhenFull = AioFullBehavior.Wait;
        await using AioContext ctx = AioContext.Setup(64, options);
        Assert.Equal(64, ctx.Capacity);
        CancellationToken ct = TestContext.Current.CancellationToken;
        var reads = new Task[Reads];
        int bad = 0;
        for (int i = 0; i < Reads; i++)
        {
            int block = i % 128;
            reads[i] = ReadOne(block);
        }

        await Task.WhenAll(reads).WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.Equal(0, bad);
        Assert.Equal(0, ctx.SlotWaiters);
        AssertIdle(ctx);

        async Task ReadOne(int block)
        {
            var buf = new byte[512];
            int n = await ctx.ReadAsync(h, buf, block * 512L, ct);
            if (n != 512 || (DoesRealIo && !buf.AsSpan().SequenceEqual(file.Content.AsSpan(block * 512, 512))))
            {
                Interlocked.Increment(ref bad);
            }
        }
    }
}
