using Kaio.Core;
using Kaio.Diagnostics;
using Kaio.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Kaio.Tests.Diagnostics;

/// <summary>
/// The Meter is static and process-wide, and test classes run in parallel: these tests run in a
/// collection of their own that xunit runs alone, after the parallel ones, so every measurement
/// they see is their own; they also match every measurement's full tag set exactly.
/// </summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;

/// <summary>The "Kaio" meter's instruments count what the requests did, with the right attributes.</summary>
[Collection(nameof(MetricsCollection))]
public sealed class MetricsTests
{
    private const string Null = "null";

    [Fact]
    public async Task ReadAsync_NullEngine_CountsSubmittedCompletedBytesAndDuration()
    {
        const int N = 10;
        using var submitted = new MetricCollector<long>(KaioMetrics.Submitted);
        using var completed = new MetricCollector<long>(KaioMetrics.Completed);
        using var bytes = new MetricCollector<long>(KaioMetrics.Bytes);
        using var duration = new MetricCollector<double>(KaioMetrics.Duration);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        await using AioContext ctx = AioContext.Setup(8, new AioContextOptions { Engine = AioEngineKind.Null });
        var buf = new byte[4096];
        for (int i = 0; i < N; i++)
        {
            Assert.Equal(4096, await ctx.ReadAsync(h, buf, 0, TestContext.Current.CancellationToken));
        }

        await ctx.WriteAsync(h, buf.AsMemory(0, 1000), 0, AioRwFlags.None, TestContext.Current.CancellationToken);

        Assert.Equal(N, Sum(submitted, ("kaio.io.command", "pread"), ("kaio.io.engine", Null)));
        Assert.Equal(N, Sum(completed, ("kaio.io.command", "pread"), ("kaio.io.engine", Null)));
        Assert.Equal(1, Sum(completed, ("kaio.io.command", "pwrite"), ("kaio.io.engine", Null)));
        Assert.Equal(N * 4096, Sum(bytes, ("kaio.io.direction", "read"), ("kaio.io.engine", Null)));
        Assert.Equal(1000, Sum(bytes, ("kaio.io.direction", "write"), ("kaio.io.engine", Null)));
        List<CollectedMeasurement<double>> reads = Matching(duration, ("kaio.io.command", "pread"), ("kaio.io.engine", Null));
        Assert.Equal(N, reads.Count);
        Assert.All(reads, m => Assert.InRange(m.Value, double.Epsilon, 10.0));
        Assert.Equal("s", KaioMetrics.Duration.Unit);
    }

    [Fact]
    public async Task ReadAsync_CachedReadCompletedInline_CountedAsSubmittedAndCompleted()
    {
        const int N = 10;
        const string ThreadPoolEngine = "thread_pool";
        using var submitted = new MetricCollector<long>(KaioMetrics.Submitted);
        using var completed = new MetricCollector<long>(KaioMetrics.Completed);
        using var bytes = new MetricCollector<long>(KaioMetrics.Bytes);
        using var duration = new MetricCollector<double>(KaioMetrics.Duration);
        using var file = new TempFile(64 << 10);
        using SafeFileHandle h = file.OpenRead();
        await using AioContext ctx = AioContext.Setup(8, new AioContextOptions { Engine = AioEngineKind.ThreadPool });
        var buf = new byte[4096];
        AioContext.ResetInlineRun();
        for (int i = 0; i < N; i++)
        {
            ValueTask<int> read = ctx.ReadAsync(h, buf, i * 4096L, TestContext.Current.CancellationToken);
            Assert.True(read.IsCompletedSuccessfully); // inline: the file was just written, its pages are cached
            Assert.Equal(4096, await read);
        }

        Assert.Equal(N, Sum(submitted, ("kaio.io.command", "pread"), ("kaio.io.engine", ThreadPoolEngine)));
        Assert.Equal(N, Sum(completed, ("kaio.io.command", "pread"), ("kaio.io.engine", ThreadPoolEngine)));
        Assert.Equal(N * 4096, Sum(bytes, ("kaio.io.direction", "read"), ("kaio.io.engine", ThreadPoolEngine)));
        List<CollectedMeasurement<double>> reads = Matching(duration, ("kaio.io.command", "pread"), ("kaio.io.engine", ThreadPoolEngine));
        Assert.Equal(N, reads.Count);
        Assert.All(reads, m => Assert.InRange(m.Value, double.Epsilon, 10.0));
    }

    [Fact]
    public void SubmitAndGetEvents_CountsEveryRequestOfTheBatch()
    {
        using var submitted = new MetricCollector<long>(KaioMetrics.Submitted);
        using var completed = new MetricCollector<long>(KaioMetrics.Completed);
        using AioContext ctx = AioContext.Setup(16, new AioContextOptions { Engine = AioEngineKind.Null });
        var iocbs = new Iocb[5];
        for (int i = 0; i < iocbs.Length; i++)
        {
            iocbs[i] = Iocb.PrepNoop((ulong)i);
        }

        Assert.Equal(5, ctx.Submit(iocbs));
        var events = new IoEvent[5];
        Assert.Equal(5, ctx.GetEvents(5, events, TimeSpan.FromSeconds(10)));

        Assert.Equal(5, Sum(submitted, ("kaio.io.command", "noop"), ("kaio.io.engine", Null)));
        Assert.Equal(5, Sum(completed, ("kaio.io.command", "noop"), ("kaio.io.engine", Null)));
    }

    [Fact]
    public void EngineFailure_CountedByErrnoName()
    {
        using var completed = new MetricCollector<long>(KaioMetrics.Completed);
        using var duration = new MetricCollector<double>(KaioMetrics.Duration);
        using var bytes = new MetricCollector<long>(KaioMetrics.Bytes);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        var buf = new byte[4096];
        Span<Iocb> iocbs = [Iocb.PrepPread(h, buf, 0, 1), Iocb.PrepPread(h, buf, 0, 2)];
        Assert.Equal(2, ctx.Submit(iocbs));
        Assert.True(engine.Complete(iocbs[0].Key, -Errno.EIO));
        Assert.True(engine.Complete(iocbs[1].Key, -Errno.EBADF));
        var events = new IoEvent[2];
        Assert.Equal(2, ctx.GetEvents(2, events, TimeSpan.FromSeconds(10)));

        Assert.Equal(1, Sum(completed, ("kaio.io.command", "pread"), ("kaio.io.engine", Null), ("error.type", "EIO")));
        Assert.Equal(1, Sum(completed, ("kaio.io.command", "pread"), ("kaio.io.engine", Null), ("error.type", "EBADF")));
        Assert.Equal(0, Sum(completed, ("kaio.io.command", "pread"), ("kaio.io.engine", Null)));
        Assert.Single(Matching(duration, ("kaio.io.command", "pread"), ("kaio.io.engine", Null), ("error.type", "EIO")));
        Assert.Empty(bytes.GetMeasurementSnapshot()); // a failed read transferred nothing
    }

    [Fact]
    public void CancelledRequest_CountedAsEcanceled()
    {
        // An ordered request held behind a read, cancelled while it waits its turn: the core ends
        // it with -ECANCELED when the read completes, without starting it.
        using var submitted = new MetricCollector<long>(KaioMetrics.Submitted);
        using var completed = new MetricCollector<long>(KaioMetrics.Completed);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        var buf = new byte[4096];
        Span<Iocb> iocbs = [Iocb.PrepPread(h, buf, 0, 1), Iocb.PrepFdsync(h, 2) with { StartsAfterPrevious = true }];
        Assert.Equal(2, ctx.Submit(iocbs));
        Assert.True(ctx.TryCancel(iocbs[1].Key));
        Assert.True(engine.Complete(iocbs[0].Key, 4096));
        var events = new IoEvent[2];
        Assert.Equal(2, ctx.GetEvents(2, events, TimeSpan.FromSeconds(10)));
        Assert.Contains(events, e => e.Data == 2 && e.Result == -Errno.ECANCELED);

        Assert.Equal(1, Sum(submitted, ("kaio.io.command", "fdsync"), ("kaio.io.engine", Null)));
        Assert.Equal(1, Sum(completed, ("kaio.io.command", "fdsync"), ("kaio.io.engine", Null), ("error.type", "ECANCELED")));
        Assert.Equal(1, Sum(completed, ("kaio.io.command", "pread"), ("kaio.io.engine", Null)));
    }

    [Fact]
    public void RefusedAtSubmit_CountedByErrno_FullContextAsEagain()
    {
        using var refused = new MetricCollector<long>(KaioMetrics.Refused);
        using var submitted = new MetricCollector<long>(KaioMetrics.Submitted);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = AioContext.Setup(4, new AioContextOptions { Engine = AioEngineKind.Null });
        var buf = new byte[4096];

        Assert.Equal(Errno.EINVAL, Assert.Throws<AioException>(() => ctx.Submit([Iocb.PrepPread(h, buf, -1, 0)])).Errno);
        Assert.Equal(Errno.EBADF, Assert.Throws<AioException>(() => ctx.Submit([Iocb.PrepPwrite(h, buf, 0, 0)])).Errno); // read-only handle

        // Noops complete at once, and their unreaped events hold the context's whole capacity.
        var noops = new Iocb[ctx.Capacity];
        for (int i = 0; i < noops.Length; i++)
        {
            noops[i] = Iocb.PrepNoop((ulong)i);
        }

        Assert.Equal(ctx.Capacity, ctx.Submit(noops));
        Assert.Equal(Errno.EAGAIN, Assert.Throws<AioException>(() => ctx.Submit([Iocb.PrepNoop(99)])).Errno);
        Assert.Equal(Errno.EAGAIN, Assert.Throws<AioException>(() => ctx.Submit([Iocb.PrepPread(h, buf, 0, 98)])).Errno);

        Assert.Equal(1, Sum(refused, ("kaio.io.command", "pread"), ("kaio.io.engine", Null), ("error.type", "EINVAL")));
        Assert.Equal(1, Sum(refused, ("kaio.io.command", "pwrite"), ("kaio.io.engine", Null), ("error.type", "EBADF")));
        Assert.Equal(1, Sum(refused, ("kaio.io.command", "noop"), ("kaio.io.engine", Null), ("error.type", "EAGAIN")));
        Assert.Equal(1, Sum(refused, ("kaio.io.command", "pread"), ("kaio.io.engine", Null), ("error.type", "EAGAIN")));
        Assert.Equal(4, refused.GetMeasurementSnapshot().Count);
        Assert.Equal(ctx.Capacity, Sum(submitted, ("kaio.io.command", "noop"), ("kaio.io.engine", Null)));
        Assert.Equal(0, Sum(submitted, ("kaio.io.command", "pread"), ("kaio.io.engine", Null)));
    }

    [Fact]
    public async Task WhenFullWait_EachWaitingCallCounted()
    {
        using var waited = new MetricCollector<long>(KaioMetrics.Waited);
        using var refused = new MetricCollector<long>(KaioMetrics.Refused);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        ManualEngine? made = null;
        await using AioContext ctx = AioContext.Setup(2, new AioContextOptions
        {
            WhenFull = AioFullBehavior.Wait,
            EngineOverride = (c, _) => made = new ManualEngine(c),
        });
        ManualEngine engine = made!;
        var buf = new byte[4096];
        var held = new List<Task<int>>();
        for (int i = 0; i < ctx.Capacity; i++)
        {
            held.Add(ctx.ReadAsync(h, buf, 0, TestContext.Current.CancellationToken).AsTask());
        }

        Assert.Empty(waited.GetMeasurementSnapshot());
        Task<int> first = ctx.ReadAsync(h, buf, 0, TestContext.Current.CancellationToken).AsTask();
        Task<int> second = ctx.ReadAsync(h, buf, 0, TestContext.Current.CancellationToken).AsTask();
        Assert.False(first.IsCompleted);
        Assert.Equal(2, ctx.SlotWaiters);
        Assert.Equal(2, Sum(waited, ("kaio.io.engine", Null)));
        Assert.Empty(refused.GetMeasurementSnapshot()); // waiting is not refusing

        // Complete everything, including the waiters once they got their slots.
        int done = 0;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (done < ctx.Capacity + 2 && DateTime.UtcNow < deadline)
        {
            if (engine.Submitted.TryDequeue(out RequestSlot? slot))
            {
                Assert.True(engine.Complete(slot.Key, 4096));
                done++;
            }
            else
            {
                await Task.Delay(1, TestContext.Current.CancellationToken);
            }
        }

        foreach (Task<int> t in held)
        {
            Assert.Equal(4096, await t);
        }

        Assert.Equal(4096, await first);
        Assert.Equal(4096, await second);
        Assert.Equal(2, Sum(waited, ("kaio.io.engine", Null)));
    }

    [Fact]
    public void InFlight_ObservesHeldRequests()
    {
        using var inFlight = new MetricCollector<long>(KaioMetrics.InFlight);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        inFlight.RecordObservableInstruments();
        long before = Observed(inFlight); // other contexts of this process, if any hold requests
        using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        var buf = new byte[4096];
        Span<Iocb> iocbs = [Iocb.PrepPread(h, buf, 0, 1), Iocb.PrepPread(h, buf, 0, 2), Iocb.PrepPread(h, buf, 0, 3)];
        Assert.Equal(3, ctx.Submit(iocbs));

        inFlight.RecordObservableInstruments();
        Assert.Equal(before + 3, Observed(inFlight));

        Assert.True(engine.Complete(iocbs[0].Key, 4096));
        Assert.True(engine.Complete(iocbs[1].Key, 4096));
        inFlight.RecordObservableInstruments();
        Assert.Equal(before + 1, Observed(inFlight)); // delivered to the ring: no longer in flight, though not reaped

        Assert.True(engine.Complete(iocbs[2].Key, 4096));
        inFlight.RecordObservableInstruments();
        Assert.Equal(before, Observed(inFlight));

        static long Observed(MetricCollector<long> collector)
        {
            // The last collection's measurement for the null engine (absent: no such context).
            CollectedMeasurement<long>? last = collector.GetMeasurementSnapshot(clear: true)
                .LastOrDefault(m => m.MatchesTags(new KeyValuePair<string, object?>("kaio.io.engine", Null)));
            return last?.Value ?? 0;
        }
    }

    [Fact]
    public void Duration_MeasuresSubmitToDelivery()
    {
        using var duration = new MetricCollector<double>(KaioMetrics.Duration);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        var buf = new byte[4096];
        Span<Iocb> iocbs = [Iocb.PrepPread(h, buf, 0, 1)];
        Assert.Equal(1, ctx.Submit(iocbs));
        Thread.Sleep(50);
        Assert.True(engine.Complete(iocbs[0].Key, 4096));

        CollectedMeasurement<double> m = Assert.Single(Matching(duration, ("kaio.io.command", "pread"), ("kaio.io.engine", Null)));
        Assert.InRange(m.Value, 0.045, 10.0);
    }

    [Fact]
    public void NoListener_NoSubmitTimestamp()
    {
        // Nobody listens to kaio.io.duration here (this collection runs alone): no clock is read.
        Assert.False(KaioMetrics.Duration.Enabled);
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = ManualEngine.NewContext(out ManualEngine engine);
        var buf = new byte[4096];
        Span<Iocb> iocbs = [Iocb.PrepPread(h, buf, 0, 1)];
        Assert.Equal(1, ctx.Submit(iocbs));
        Assert.True(engine.Submitted.TryDequeue(out RequestSlot? slot));
        Assert.Equal(0, slot.SubmitTimestamp);
        Assert.True(engine.Complete(iocbs[0].Key, 4096));
    }

    [Fact]
    public void Meter_IsNamedKaio_WithOpenTelemetryNames()
    {
        Assert.Equal("Kaio", KaioMetrics.Meter.Name);
        Assert.Equal(
            ["kaio.io.bytes", "kaio.io.completed", "kaio.io.duration", "kaio.io.in_flight", "kaio.io.refused", "kaio.io.submitted", "kaio.io.waited"],
            new[] { KaioMetrics.Bytes.Name, KaioMetrics.Completed.Name, KaioMetrics.Duration.Name, KaioMetrics.InFlight.Name, KaioMetrics.Refused.Name, KaioMetrics.Submitted.Name, KaioMetrics.Waited.Name }.Order());
        Assert.Equal("By", KaioMetrics.Bytes.Unit);
        Assert.Equal("{request}", KaioMetrics.Completed.Unit);
    }

    private static List<CollectedMeasurement<T>> Matching<T>(MetricCollector<T> collector, params (string Key, string Value)[] tags)
        where T : struct
        => collector.GetMeasurementSnapshot()
            .Where(m => m.Tags.Count == tags.Length && tags.All(t => m.Tags.TryGetValue(t.Key, out object? v) && Equals(v, t.Value)))
            .ToList();

    /// <summary>The sum of the measurements whose tags are exactly <paramref name="tags"/>.</summary>
    private static long Sum(MetricCollector<long> collector, params (string Key, string Value)[] tags)
        => Matching(collector, tags).Sum(m => m.Value);
}
