namespace Kaio.Tests.Engines;

public sealed class ThreadPoolConformanceTests : ConformanceTests
{
    protected override AioEngineKind Kind => AioEngineKind.ThreadPool;
}
