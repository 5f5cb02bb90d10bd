using Kaio.Engines.ThreadPool;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>
/// The whole conformance suite over the thread-pool engine behind a wrapper that duplicates,
/// delays and reorders every completion: faults that must not change any semantics.
/// </summary>
public sealed class FaultInjectingConformanceTests : ConformanceTests
{
    protected override AioEngineKind Kind => AioEngineKind.ThreadPool;

    protected override bool CompletesCachedReadsInline => false; // the wrapper must see every read

    protected override AioContextOptions Options() => new()
    {
        Engine = Kind,
        EngineOverride = (completer, capacity) => new FaultInjectingEngine(
            completer,
            inner => new ThreadPoolEngine(inner, capacity, 0),
            new FaultPlan { Duplicate = true, DelayAndReorder = true }),
    };
}
