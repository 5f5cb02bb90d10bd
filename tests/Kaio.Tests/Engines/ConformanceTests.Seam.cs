using Kaio.Engines;
using Kaio.Tests.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace Kaio.Tests.Engines;

/// <summary>
/// The engine's side of the seam (the one-way contract), checked through the fault-injecting
/// wrapper around this suite's engine: completions are delivered with no engine lock held, and a
/// cancel asked before the engine registered a request is answered to the engine by the
/// registration (the engine then stops the request itself), never by running its callback from
/// inside its own Submit.
/// </summary>
public abstract partial class ConformanceTests
{
    private AioContext NewWrappedContext(FaultPlan plan, out FaultInjectingEngine wrapper, int maxEvents = 64)
    {
        string? reason = EngineSupport.UnavailableReason(Kind);
        if (reason is not null)
        {
            Assert.Skip(reason);
        }

        FaultInjectingEngine? made = null;
        AioContextOptions options = Options();
        Func<IRequestCompleter, int, AioEngine>? own = options.EngineOverride;
        AioContext ctx = AioContext.Setup(maxEvents, new AioContextOptions
        {
            Engine = Kind,
            EngineOverride = (completer, capacity) => made = new FaultInjectingEngine(
                completer,
                inner => own is not null ? own(inner, capacity) : EngineFactory.Create(Kind, inner, capacity, options, out _),
                plan),
        });
        wrapper = made!;
        return ctx;
    }

    [Fact]
    public async Task Seam_CancelBeforeTheEngineRegisters_CompletesOnceWithEcanceled_NoCallbackInsideSubmit_NoDeliveryUnderALock()
    {
        using var file = new TempFile(64 * 1024);
        using SafeFileHandle h = file.OpenRead();
        await using AioContext ctx = NewWrappedContext(new FaultPlan { CancelBeforeSubmitEvery = 3 }, out FaultInjectingEngine wrapper);

        // The libaio face: batches of 16 reads, every third cancelled before the engine sees it.
        var buffers = new byte[16][];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = new byte[4096];
        }

        int cancelled = 0, read = 0;
        for (int round = 0; round < 20; round++)
        {
            var batch = new Iocb[16];
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i] = Iocb.PrepPread(h, buffers[i], (long)(i % 16) * 4096, data: (ulong)i);
            }

            Assert.Equal(batch.Length, ctx.Submit(batch));
            foreach (IoEvent ev in Reap(ctx, batch.Length))
            {
                if (wrapper.CancelledBeforeSubmit.ContainsKey(ev.Key))
                {
                    Assert.Equal(-Errno.ECANCELED, ev.Result); // had not started: cancelled for sure
                    cancelled++;
                }
                else
                {
                    Assert.Equal(4096, ev.Result);
                    read++;
                }
            }
        }

        // The awaitable face: the same for ReadAsync.
        for (int i = 0; i < 60; i++)
        {
            int before = wrapper.CancelledBeforeSubmit.Count;
            try
            {
                Assert.Equal(4096, await ctx.ReadAsync(h, buffers[0], 0, TestContext.Current.CancellationToken));
                Assert.Equal(before, wrapper.CancelledBeforeSubmit.Count);
                read++;
            }
            catch (OperationCanceledException)
            {
                Assert.Equal(before + 1, wrapper.CancelledBeforeSubmit.Count);
                cancelled++;
            }
        }

        Assert.Equal(wrapper.CancelledBeforeSubmit.Count, cancelled);
        Assert.True(cancelled >= 100 && read >= 200, $"cancelled {cancelled}, read {read}");
        Assert.Equal(0, wrapper.CancelsInsideSubmit);
        Assert.Equal(0, wrapper.LockedDeliveries);
        // Each request was reported (a duplicating inner wrapper reports twice; the core took one).
        Assert.True(wrapper.Completions >= cancelled + read, $"{wrapper.Completions} completions for {cancelled + read} requests");
        Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
    }

    [Fact]
    public void Seam_ReadsRacingCancels_DeliveredWithNoEngineLockHeld()
    {
        using var file = new TempFile(1 << 20);
        using SafeFileHandle h = file.OpenRead();
        using AioContext ctx = NewWrappedContext(new FaultPlan(), out FaultInjectingEngine wrapper);
        var buffers = new byte[32][];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = new byte[4096];
        }

        // Reads and cancels of them from another thread, while this one reaps: whichever wins
        // (a cached read usually finishes inside Submit, so the cancels mostly lose — what this
        // pins is the delivery path, not a cancel outcome), every request ends once, and no
        // completion is delivered under an engine lock (960 were, on io_uring, before the seam).
        for (int round = 0; round < 30; round++)
        {
            var batch = new Iocb[buffers.Length];
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i] = Iocb.PrepPread(h, buffers[i], (long)((round * 32) + i) % 256 * 4096, data: (ulong)i);
            }

            Assert.Equal(batch.Length, ctx.Submit(batch));
            var canceller = new Thread(() =>
            {
                foreach (Iocb cb in batch)
                {
                    ctx.TryCancel(cb.Key);
                }
            });
            canceller.Start();
            IoEvent[] events = Reap(ctx, batch.Length);
            canceller.Join();
            Assert.All(events, ev => Assert.True(ev.Result is 4096 or -Errno.ECANCELED, $"res {ev.Result}"));
            Assert.Equal(batch.Length, events.Select(e => e.Key).Distinct().Count());
        }

        Assert.Equal(0, wrapper.LockedDeliveries);
        Assert.Equal(0, wrapper.CancelsInsideSubmit);
        Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
    }
}
