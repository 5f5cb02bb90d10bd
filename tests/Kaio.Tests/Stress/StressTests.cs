using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Stress;

/// <summary>
/// Opt-in soak: KAIO_STRESS=seconds (and optionally KAIO_STRESS_SEED) runs every available engine
/// with several submitters, random cancels and periodic context churn, checking exactly-once
/// delivery throughout. Bounded in time; prints its seed.
/// </summary>
public sealed class StressTests
{
    [Fact]
    public void Soak_AllEngines_ExactlyOnce()
    {
        string? setting = Environment.GetEnvironmentVariable("KAIO_STRESS");
        if (!int.TryParse(setting, out int seconds) || seconds <= 0)
        {
            Assert.Skip("stress is opt-in: set KAIO_STRESS=<seconds>");
        }

        int seed = int.TryParse(Environment.GetEnvironmentVariable("KAIO_STRESS_SEED"), out int s) ? s : Environment.TickCount;
        TestContext.Current.SendDiagnosticMessage($"stress seed {seed}, {seconds} s per engine");
        using var file = new TempFile(1 << 20, seed);
        using SafeFileHandle h = file.OpenRead();
        foreach (AioEngineKind kind in new[] { AioEngineKind.IoUring, AioEngineKind.LinuxAio, AioEngineKind.ThreadPool, AioEngineKind.Null })
        {
            if (EngineSupport.UnavailableReason(kind) is string why)
            {
                TestContext.Current.SendDiagnosticMessage(why);
                continue;
            }

            DateTime end = DateTime.UtcNow.AddSeconds(seconds);
            var rng = new Random(seed);
            while (DateTime.UtcNow < end)
            {
                using AioContext ctx = AioContext.Setup(128, new AioContextOptions { Engine = kind });
                int accepted = 0, reaped = 0;
                var events = new IoEvent[64];
                var buffers = new byte[128][];
                for (int i = 0; i < buffers.Length; i++)
                {
                    buffers[i] = new byte[4096];
                }

                for (int round = 0; round < 200; round++)
                {
                    var iocbs = new Iocb[rng.Next(1, 32)];
                    for (int i = 0; i < iocbs.Length; i++)
                    {
                        iocbs[i] = Iocb.PrepPread(h, buffers[(accepted + i) % buffers.Length], rng.Next(0, 255) * 4096L, (ulong)(accepted + i));
                    }

                    int n;
                    try
                    {
                        n = ctx.Submit(iocbs);
                    }
                    catch (AioException e) when (e.Errno == Errno.EAGAIN)
                    {
                        n = 0;
                    }

                    for (int i = 0; i < n; i++)
                    {
                        if (rng.Next(4) == 0)
                        {
                            ctx.TryCancel(iocbs[i].Key);
                        }
                    }

                    accepted += n;
                    reaped += ctx.GetEvents(0, events, TimeSpan.Zero);
                }

                while (reaped < accepted)
                {
                    int got = ctx.GetEvents(1, events, TimeSpan.FromSeconds(10));
                    Assert.True(got > 0, $"seed {seed}: {kind} lost events ({reaped}/{accepted})");
                    reaped += got;
                }

                Assert.Equal(accepted, reaped);
                Assert.Equal(0, ctx.GetEvents(0, events, TimeSpan.FromMilliseconds(20)));
            }
        }
    }
}
