using Kaio.Engines.IoUring;
using Kaio.Engines.LinuxAio;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>
/// The whole conformance suite over io_uring behind the fault-injecting wrapper (duplicated,
/// delayed and reordered completions; the seam's checks: no delivery under an engine lock, no
/// cancel callback inside Submit), as FaultInjectingConformanceTests does for the thread pool.
/// </summary>
public sealed class FaultInjectingIoUringConformanceTests : ConformanceTests
{
    protected override AioEngineKind Kind => AioEngineKind.IoUring;

    protected override bool CompletesCachedReadsInline => false; // the wrapper must see every read

    protected override bool CompletesInsideSubmit => true; // as IoUringConformanceTests: cached reads complete inside the enter

    protected override AioContextOptions Options() => new()
    {
        Engine = Kind,
        EngineOverride = (completer, capacity) => new FaultInjectingEngine(
            completer,
            inner => new IoUringEngine(inner, capacity),
            new FaultPlan { Duplicate = true, DelayAndReorder = true }),
    };
}

/// <summary>The same over Linux AIO.</summary>
public sealed class FaultInjectingLinuxAioConformanceTests : ConformanceTests
{
    protected override AioEngineKind Kind => AioEngineKind.LinuxAio;

    protected override bool CompletesCachedReadsInline => false; // the wrapper must see every read

    protected override bool CompletesInsideSubmit => true; // as LinuxAioConformanceTests

    protected override AioContextOptions Options() => new()
    {
        Engine = Kind,
        EngineOverride = (completer, capacity) => new FaultInjectingEngine(
            completer,
            inner => new LinuxAioEngine(inner, capacity),
            new FaultPlan { Duplicate = true, DelayAndReorder = true }),
    };
}
