// Design: engine choice. A kind asked for by name is created or fails with its reason — never
// silently replaced. Auto tries the engines in order of preference and records why it took the
// one it took and why the better ones were passed over.
using Kaio.Core;
using Kaio.Engines.Null;
using Kaio.Engines.ThreadPool;

namespace Kaio.Engines;

internal static class EngineFactory
{
    internal static AioEngine Create(AioEngineKind kind, IRequestCompleter completer, int capacity, AioContextOptions options, out string reason)
    {
        switch (kind)
        {
            case AioEngineKind.Null:
                reason = "asked for by name";
                return new NullEngine(completer);
            case AioEngineKind.ThreadPool:
                reason = "asked for by name";
                return new ThreadPoolEngine(completer, capacity, options.ThreadPoolWorkers);
            case AioEngineKind.IoUring:
            case AioEngineKind.LinuxAio:
                ThrowHelper.ThrowAio(Errno.ENOSYS, $"engine {kind} is not available in this build");
                break;
        }

        reason = "the portable engine: no native engine is available in this build";
        return new ThreadPoolEngine(completer, capacity, options.ThreadPoolWorkers);
    }

    internal static IReadOnlyList<AioEngineStatus> Probe()
    {
        return
        [
            new AioEngineStatus(AioEngineKind.IoUring, false, "not available in this build"),
            new AioEngineStatus(AioEngineKind.LinuxAio, false, "not available in this build"),
            new AioEngineStatus(AioEngineKind.ThreadPool, true, "portable: blocking calls on dedicated worker threads"),
            new AioEngineStatus(AioEngineKind.Null, true, "completes at once without I/O"),
        ];
    }
}
