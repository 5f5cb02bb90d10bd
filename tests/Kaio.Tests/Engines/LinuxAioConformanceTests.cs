namespace Kaio.Tests.Engines;

public sealed class LinuxAioConformanceTests : ConformanceTests
{
    protected override AioEngineKind Kind => AioEngineKind.LinuxAio;

    // io_submit performs a buffered read before it returns, that is inside Submit, before the
    // key is known to anyone who could cancel it; and the kernel cannot cancel reads anyway.
    protected override bool CompletesInsideSubmit => true;
}
