namespace Kaio.Tests.Engines;

/// <summary>
/// The whole conformance suite again on io_uring with <see cref="AioContextOptions.SubmittersReap"/>:
/// completions are finished on their submitter's next kernel entry, not by interrupting it, and
/// every documented behaviour must stay the same. Some tests submit from threads that then block
/// (awaiters, callbacks, cancels from other threads): they check that such completions are still
/// delivered, only not as promptly as an interrupt would.
/// </summary>
public sealed class IoUringSubmittersReapConformanceTests : ConformanceTests
{
    protected override AioEngineKind Kind => AioEngineKind.IoUring;

    protected override bool CompletesInsideSubmit => true;

    protected override AioContextOptions Options() => new() { Engine = Kind, SubmittersReap = true };
}
