// Design: engine choice. A kind asked for by name is created or fails with its reason — never
// silently replaced. Auto tries the engines in order of preference and records why it took the
// one it took and why the better ones were passed over.
using Kaio.Engines.IoUring;
using Kaio.Engines.LinuxAio;
using Kaio.Engines.Null;
using Kaio.Engines.ThreadPool;

namespace Kaio.Engines;

internal static class EngineFactory
{
    internal static AioEngine Create(AioEngineKind kind, IRequestCompleter completer, int capacity, AioContextOptions options, out string reason)
    {
        if (options.EngineOverride is not null)
        {
            AioEngine engine = options.EngineOverride(completer, capacity);
            reason = "supplied by the caller";
            return engine;
        }

        switch (kind)
        {
            case AioEngineKind.Null:
                reason = "asked for by name";
                return new NullEngine(completer);
            case AioEngineKind.ThreadPool:
                reason = "asked for by name";
                return new ThreadPoolEngine(completer, capacity, options.ThreadPoolWorkers);
            case AioEngineKind.IoUring:
                // The constructors probe and throw AioException with the reason: asked for by
                // name, an engine that cannot work fails, it is never replaced.
                reason = "asked for by name";
                return new IoUringEngine(completer, capacity, options.SubmittersReap);
            case AioEngineKind.LinuxAio:
                reason = "asked for by name";
                return new LinuxAioEngine(completer, capacity);
        }

        // Auto: io_uring, then Linux AIO, then the thread pool, saying why each was passed over.
        string ioUringReason;
        if (IoUringEngine.TryProbe(out ioUringReason))
        {
            try
            {
                AioEngine engine = new IoUringEngine(completer, capacity, options.SubmittersReap);
                reason = "io_uring: the fastest engine that works here";
                return engine;
            }
            catch (AioException e)
            {
                ioUringReason = e.Message;
            }
        }

        string linuxAioReason;
        if (LinuxAioEngine.TryProbe(out linuxAioReason))
        {
            try
            {
                AioEngine engine = new LinuxAioEngine(completer, capacity);
                reason = "Linux AIO, because " + ioUringReason;
                return engine;
            }
            catch (AioException e)
            {
                linuxAioReason = e.Message;
            }
        }

        reason = "the thread pool, because " + ioUringReason + "; and " + linuxAioReason;
        return new ThreadPoolEngine(completer, capacity, options.ThreadPoolWorkers);
    }

    internal static IReadOnlyList<AioEngineStatus> Probe()
    {
        return
        [
            new AioEngineStatus(AioEngineKind.IoUring, IoUringEngine.TryProbe(out string ioUring), ioUring),
            new AioEngineStatus(AioEngineKind.LinuxAio, LinuxAioEngine.TryProbe(out string linuxAio), linuxAio),
            new AioEngineStatus(AioEngineKind.ThreadPool, true, "portable: blocking calls on dedicated worker threads"),
            new AioEngineStatus(AioEngineKind.Null, true, "completes at once without I/O"),
        ];
    }
}
