namespace Kaio.Tests.Engines;

public sealed class NullConformanceTests : ConformanceTests
{
    protected override AioEngineKind Kind => AioEngineKind.Null;

    protected override bool DoesRealIo => false;

    protected override bool CompletesInsideSubmit => true;

    // Every request completes inside its call, so an awaiting loop runs on without yielding.
    protected override bool AwaitersYield => false;
}
