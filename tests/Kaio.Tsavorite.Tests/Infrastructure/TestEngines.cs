namespace Kaio.Tsavorite.Tests.Infrastructure;

/// <summary>The engines that do real I/O, and a context on one of them (or a skip that says why not).</summary>
public static class TestEngines
{
    private static readonly Lazy<IReadOnlyList<AioEngineStatus>> s_status = new(AioContext.ProbeEngines);

    public static TheoryData<AioEngineKind> Real => new(AioEngineKind.IoUring, AioEngineKind.LinuxAio, AioEngineKind.ThreadPool);

    /// <summary>Every real engine with the device's completions inline (as a Garnet server should run it), and io_uring with the default pool hop too.</summary>
    public static TheoryData<AioEngineKind, bool> RealAndInline => new()
    {
        { AioEngineKind.IoUring, false },
        { AioEngineKind.IoUring, true },
        { AioEngineKind.LinuxAio, true },
        { AioEngineKind.ThreadPool, true },
    };

    /// <summary>A context on <paramref name="kind"/> that waits when full; skips the test when the engine cannot work here.</summary>
    public static AioContext Setup(AioEngineKind kind, int capacity = 256)
    {
        foreach (AioEngineStatus s in s_status.Value)
        {
            if (s.Kind == kind && !s.Available)
            {
                Assert.Skip($"{kind} engine unavailable here: {s.Reason}");
            }
        }

        return AioContext.Setup(capacity, new AioContextOptions { Engine = kind, WhenFull = AioFullBehavior.Wait });
    }
}
