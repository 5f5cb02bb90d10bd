using System.Collections.Concurrent;
using Kaio.Core;
using Kaio.Engines;

namespace Kaio.Tests.Infrastructure;

/// <summary>An engine the test drives by hand: it holds submitted requests until told to complete them.</summary>
internal sealed class ManualEngine : AioEngine
{
    internal ManualEngine(IRequestCompleter completer)
        : base(completer)
    {
    }

    internal ConcurrentQueue<RequestSlot> Submitted { get; } = new();

    internal int CancelCalls;

    internal int LastCancelThread;

    /// <summary>Runs inside the cancel callback (tests use it to check what completion has done).</summary>
    internal Action<RequestSlot>? OnCancel { get; set; }

    public override AioEngineKind Kind => AioEngineKind.Null;

    public override EngineFeatures Features => EngineFeatures.NativeSyncFlags;

    /// <summary>Runs inside Submit, before the request is queued (tests use it to hold a caller inside the API).</summary>
    internal Action<RequestSlot>? OnSubmit { get; set; }

    public override int Submit(RequestSlot slot)
    {
        OnSubmit?.Invoke(slot);
        Submitted.Enqueue(slot);
        return 0;
    }

    public override void Cancel(RequestSlot slot)
    {
        Interlocked.Increment(ref CancelCalls);
        Volatile.Write(ref LastCancelThread, Environment.CurrentManagedThreadId);
        OnCancel?.Invoke(slot);
    }

    internal bool Complete(ulong key, long res) => Completer.Complete(key, res, 0);

    internal static AioContext NewContext(out ManualEngine engine, int capacity = 8)
    {
        ManualEngine? made = null;
        AioContext ctx = AioContext.Setup(capacity, new AioContextOptions { EngineOverride = (c, _) => made = new ManualEngine(c) });
        engine = made!;
        return ctx;
    }
}
