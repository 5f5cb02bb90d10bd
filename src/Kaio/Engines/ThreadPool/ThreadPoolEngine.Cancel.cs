// The thread-pool engine's cancel: a queued request completes with -ECANCELED at dequeue; a Poll
// or a stream wait is interrupted through its worker's eventfd. See the Design comment in
// ThreadPoolEngine.cs.
using Kaio.Core;

namespace Kaio.Engines.ThreadPool;

internal sealed unsafe partial class ThreadPoolEngine
{
    public override void Cancel(RequestSlot slot)
    {
        // Only Poll and stream reads/writes register this callback: wake the worker polling for
        // it. A worker that has moved on sees a spurious wake-up, re-checks its own request, and
        // polls again.
        // Acquire: the registration's CAS published the index written before it.
        _workers[Volatile.Read(ref _workerOf[slot.Tag])].Wake();
    }
}
