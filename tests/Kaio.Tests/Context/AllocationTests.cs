using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Context;

/// <summary>The hot path allocates nothing: measured per operation after warm-up.</summary>
public sealed class AllocationTests
{
    private const int Ops = 20000;

    [Fact]
    public void ReadAsync_NullEngine_ZeroBytesPerCall()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = AioContext.Setup(32, new AioContextOptions { Engine = AioEngineKind.Null });
        var buf = new byte[4096];
        Run(ctx, h, buf, 2000); // warm-up: pages, caches, tiering
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(ctx, h, buf, Ops);
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        TestContext.Current.SendDiagnosticMessage($"ReadAsync on the null engine: {(double)bytes / Ops:F3} bytes per call");
        Assert.Equal(0, bytes);

        static void Run(AioContext ctx, SafeFileHandle h, byte[] buf, int n)
        {
            for (int i = 0; i < n; i++)
            {
                ValueTask<int> t = ctx.ReadAsync(h, buf, 0, CancellationToken.None);
                if (t.GetAwaiter().GetResult() != 4096)
                {
                    throw new InvalidOperationException("bad result");
                }
            }
        }
    }

    [Fact]
    public void SubmitAndGetEvents_NullEngine_ZeroBytesPerRequest()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = AioContext.Setup(64, new AioContextOptions { Engine = AioEngineKind.Null });
        var buf = new byte[4096];
        var iocbs = new Iocb[32];
        var events = new IoEvent[32];
        for (int i = 0; i < iocbs.Length; i++)
        {
            iocbs[i] = Iocb.PrepPread(h, buf, 0, (ulong)i);
        }

        Run(ctx, iocbs, events, 200);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(ctx, iocbs, events, Ops / 32);
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        TestContext.Current.SendDiagnosticMessage($"Submit+GetEvents on the null engine: {(double)bytes / Ops:F3} bytes per request");
        Assert.Equal(0, bytes);

        static void Run(AioContext ctx, Iocb[] iocbs, IoEvent[] events, int rounds)
        {
            for (int r = 0; r < rounds; r++)
            {
                int n = ctx.Submit(iocbs);
                int got = 0;
                while (got < n)
                {
                    got += ctx.GetEvents(1, events.AsSpan(got), null);
                }
            }
        }
    }
}
