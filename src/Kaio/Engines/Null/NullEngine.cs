// Design: the null engine, like fio's: every request completes at once, inside Submit, with the
// result a perfect device would give (the full length for reads and writes, the asked events
// for Poll, 0 for syncs and Fallocate) and no I/O at all. What it measures is the core's own cost per request.
// A request cancelled before it reached the engine completes with -ECANCELED, as on every engine.
using Kaio.Core;

namespace Kaio.Engines.Null;

internal sealed class NullEngine : AioEngine
{
    internal NullEngine(IRequestCompleter completer)
        : base(completer)
    {
    }

    public override AioEngineKind Kind => AioEngineKind.Null;

    public override EngineFeatures Features => EngineFeatures.NativeSyncFlags;

    public override int Submit(RequestSlot slot)
    {
        long res = slot.IsCancelRequested ? -Errno.ECANCELED : slot.Command switch
        {
            IocbCommand.Pread or IocbCommand.Pwrite or IocbCommand.Preadv or IocbCommand.Pwritev => slot.TotalLength,
            IocbCommand.Poll => slot.PollEvents,
            _ => 0,
        };

        Completer.Complete(slot.Key, res, 0);
        return 0;
    }
}
