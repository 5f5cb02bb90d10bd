using System.Collections.Concurrent;
using Kaio.Core;
using Kaio.Engines;

namespace Kaio.Tests.Infrastructure;

/// <summary>What a <see cref="FaultInjectingEngine"/> does to the requests passing through it.</summary>
public sealed class FaultPlan
{
    /// <summary>Deliver every completion twice (the second must be ignored by the core).</summary>
    public bool Duplicate { get; init; }

    /// <summary>Hold completions and release them later, newest first.</summary>
    public bool DelayAndReorder { get; init; }

    /// <summary>Every Nth completion of a read or write becomes -EIO (0: never).</summary>
    public int EioEvery { get; init; }

    /// <summary>Every Nth read or write completes with half its length (0: never).</summary>
    public int ShortEvery { get; init; }

    /// <summary>Every Nth submit is refused with -EAGAIN (0: never).</summary>
    public int EagainEvery { get; init; }

    /// <summary>
    /// Every Nth request is cancelled after the core armed it and before the inner engine sees
    /// it (0: never): the engine finds the cancel when it registers and must stop the request
    /// itself, without its callback running inside its own Submit.
    /// </summary>
    public int CancelBeforeSubmitEvery { get; init; }
}

/// <summary>
/// A wrapper engine for tests: passes requests to a real engine (any engine: every call of the
/// contract is forwarded) and bends what comes back — duplicated, delayed, reordered
/// completions, EIO, short transfers, EAGAIN at submit, cancels before the engine sees a request.
/// It also checks the engine's side of the contract and counts violations: a completion delivered
/// while the engine holds one of its own locks, and a cancel callback run from inside the
/// engine's own Submit.
/// </summary>
internal sealed class FaultInjectingEngine : AioEngine, IRequestCompleter
{
    private readonly AioEngine _inner;
    private readonly FaultPlan _plan;
    private readonly List<(ulong Key, long Res, long Res2)> _held = [];
    private readonly Thread? _releaser;
    private volatile bool _stopping;
    private int _submits;
    private int _completions;

    internal FaultInjectingEngine(IRequestCompleter outer, Func<IRequestCompleter, AioEngine> inner, FaultPlan plan)
        : base(outer)
    {
        _plan = plan;
        _inner = inner(this);
        if (plan.DelayAndReorder)
        {
            _releaser = new Thread(ReleaseLoop) { IsBackground = true, Name = "fault-releaser" };
            _releaser.Start();
        }
    }

    /// <summary>Completions the core refused (stale or duplicate).</summary>
    public int Ignored;

    /// <summary>Completions the inner engine reported.</summary>
    public int Completions => Volatile.Read(ref _completions);

    /// <summary>Completions the inner engine reported while holding one of its own locks (must stay 0).</summary>
    public int LockedDeliveries;

    /// <summary>Cancel callbacks the core ran on a thread inside the inner engine's Submit (must stay 0).</summary>
    public int CancelsInsideSubmit;

    /// <summary>Keys of the requests cancelled before the inner engine saw them (<see cref="FaultPlan.CancelBeforeSubmitEvery"/>).</summary>
    public ConcurrentDictionary<ulong, byte> CancelledBeforeSubmit { get; } = new();

    [ThreadStatic]
    private static int s_inSubmit;

    public override AioEngineKind Kind => _inner.Kind;

    public override EngineFeatures Features => _inner.Features;

    public override int Submit(RequestSlot slot)
    {
        int n = Interlocked.Increment(ref _submits);
        if (_plan.EagainEvery > 0 && n % _plan.EagainEvery == 0)
        {
            return -Errno.EAGAIN;
        }

        if (_plan.CancelBeforeSubmitEvery > 0 && n % _plan.CancelBeforeSubmitEvery == 0 && slot.TryCancel(slot.Key))
        {
            CancelledBeforeSubmit[slot.Key] = 0;
        }

        s_inSubmit++;
        try
        {
            return _inner.Submit(slot);
        }
        finally
        {
            s_inSubmit--;
        }
    }

    public override void Flush() => _inner.Flush();

    public override void FlushAwaited(RequestSlot slot, bool alone) => _inner.FlushAwaited(slot, alone);

    public override void Cancel(RequestSlot slot)
    {
        if (s_inSubmit != 0)
        {
            Interlocked.Increment(ref CancelsInsideSubmit);
        }

        _inner.Cancel(slot);
    }

    public override bool TryReap() => _inner.TryReap();

    public override void WaitForCompletions(int timeoutMs, int token) => _inner.WaitForCompletions(timeoutMs, token);

    public override int BeginCallerWait() => _inner.BeginCallerWait();

    public override void EndCallerWait() => _inner.EndCallerWait();

    public override void WakeWaiters() => _inner.WakeWaiters();

    public override void AddReaperDemand(int delta) => _inner.AddReaperDemand(delta);

    internal override bool HoldsLockOnCurrentThread => _inner.HoldsLockOnCurrentThread;

    RequestSlot? IRequestCompleter.SlotOf(int tag) => Completer.SlotOf(tag);

    bool IRequestCompleter.Complete(ulong key, long res, long res2)
    {
        if (_inner.HoldsLockOnCurrentThread)
        {
            Interlocked.Increment(ref LockedDeliveries);
        }

        int n = Interlocked.Increment(ref _completions);
        if (res > 1 && _plan.ShortEvery > 0 && n % _plan.ShortEvery == 0)
        {
            res /= 2;
        }

        if (res >= 0 && _plan.EioEvery > 0 && n % _plan.EioEvery == 0)
        {
            res = -Errno.EIO;
        }

        if (_plan.DelayAndReorder)
        {
            lock (_held)
            {
                _held.Add((key, res, res2));
            }

            return true;
        }

        return Deliver(key, res, res2);
    }

    private bool Deliver(ulong key, long res, long res2)
    {
        bool first = Completer.Complete(key, res, res2);
        if (!first)
        {
            Interlocked.Increment(ref Ignored);
        }

        if (_plan.Duplicate && !Completer.Complete(key, res, res2))
        {
            Interlocked.Increment(ref Ignored);
        }

        return first;
    }

    private void ReleaseLoop()
    {
        var batch = new List<(ulong Key, long Res, long Res2)>();
        while (true)
        {
            Thread.Sleep(1);
            lock (_held)
            {
                batch.AddRange(_held);
                _held.Clear();
            }

            for (int i = batch.Count - 1; i >= 0; i--)
            {
                Deliver(batch[i].Key, batch[i].Res, batch[i].Res2);
            }

            batch.Clear();
            if (_stopping)
            {
                return;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _stopping = true;
        _releaser?.Join();
        _inner.Dispose();
    }
}
