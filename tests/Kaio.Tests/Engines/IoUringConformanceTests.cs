namespace Kaio.Tests.Engines;

public sealed class IoUringConformanceTests : ConformanceTests
{
    protected override AioEngineKind Kind => AioEngineKind.IoUring;

    // A read from the page cache completes inside io_uring_enter, that is inside Submit, before
    // the key is known to anyone who could cancel it (O_DIRECT reads and polls do not).
    protected override bool CompletesInsideSubmit => true;
}
