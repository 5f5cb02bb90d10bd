// The thread-pool engine's submission side: a cached read answered inline (preadv2 RWF_NOWAIT),
// the rest queued for the workers and handed to an idle one. See the Design comment in
// ThreadPoolEngine.cs.
using Kaio.Core;

namespace Kaio.Engines.ThreadPool;

internal sealed unsafe partial class ThreadPoolEngine
{
    public override int Submit(RequestSlot slot)
    {
        if ((uint)slot.Tag >= (uint)_workerOf.Length)
        {
            return -Errno.EINVAL;
        }

        if (IsInlineCandidate(slot))
        {
            if (slot.MayCompleteInline)
            {
                if (TryReadInline(slot, inlineContinuation: false))
                {
                    return 0;
                }
            }
            else if (slot.IsAwaitable && Thread.CurrentThread.IsThreadPoolThread)
            {
                // Not alone: the attempt runs in a thread-pool work item instead, which runs the
                // awaiter's continuation inline when the read was cached — RandomAccess's shape
                // (the blocking call in a work item, the continuation after it), so that loops
                // take turns; a read the cache does not hold goes on to a worker from there.
                InlineAttempt attempt = _attempts[slot.Tag] ??= new InlineAttempt(this, slot); // the tag's slot, for the context's life
                // The global queue (FIFO), not this thread's own (LIFO): there, the attempt a
                // continuation queued ran next on the same thread, so one loop ran on while the
                // others' attempts waited (8 tasks: a read waited 1.5 s).
                System.Threading.ThreadPool.UnsafeQueueUserWorkItem(attempt, preferLocal: false);
                return 0;
            }
        }

        Enqueue(slot);
        return 0;
    }

    // Hand-off: the queue and the stack of idle workers share _queueLock, so a worker goes idle
    // only while the queue is empty, and a request queued after that finds it on the stack. The
    // submitter pops the latest idle worker and writes its eventfd; the worker waits in read(2) on
    // it, nothing else: one system call on each side and one context switch. Without an idle
    // worker it starts one (up to the limit); otherwise a busy worker takes the request when it
    // comes back, before it would go idle. This replaced a SemaphoreSlim, whose Wait spins
    // (Thread.Yield, SpinWait) before it blocks: at QD1 the spin never caught the next request —
    // the caller must first be woken, reap and submit — and perf record of `kaio bench
    // --ioengine=threadpool --direct=1 --iodepth=1` found a third of the worker's samples there
    // (sched_yield 18 %, the spin loop 12 %): 88-148 µs of CPU per read against fio psync's 42-47.

    /// <summary>Queues a request for the workers.</summary>
    private void Enqueue(RequestSlot slot)
    {
        int tag = slot.Tag;
        Worker? idle = null;
        lock (_queueLock)
        {
            // At most capacity requests are in flight (the core's budget), so the ring never fills.
            _queue[(_queueHead + _queueCount) % _queue.Length] = tag;
            _queueCount++;
            if (_idleCount > 0)
            {
                idle = _idleWorkers[--_idleCount];
                _idleWorkers[_idleCount] = null;
                idle!.IsIdle = false;
            }
        }

        if (idle is not null)
        {
            idle.WakeForWork();
        }
        else
        {
            _ = StartWorker(); // false at the limit: a busy worker takes it when it comes back
        }
    }

    /// <summary>The deferred inline attempt of one tag's awaited read (allocated once per tag).</summary>
    private sealed class InlineAttempt(ThreadPoolEngine engine, RequestSlot slot) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            if (!engine.TryReadInline(slot, inlineContinuation: true))
            {
                engine.Enqueue(slot);
            }
        }
    }

    /// <summary>
    /// A buffered read the page cache holds completes here, on the submitting thread, with one
    /// preadv2(RWF_NOWAIT) — io_uring's inline attempt (io_read() with IOCB_NOWAIT first) — instead
    /// of a hand-off to a worker and back: two context switches and ~35 µs of CPU per read on this
    /// VM at QD1 (see bench/README.md). Only a whole answer counts: -EAGAIN (not cached), a short
    /// read (partly cached) or any error goes to a worker as before, which reads it all again. A
    /// NoWait request's answer is final whatever it is. O_DIRECT reads, streams and requests
    /// already cancelled are queued (a direct read would wait for the device on this thread).
    /// </summary>
    private bool TryReadInline(RequestSlot slot, bool inlineContinuation)
    {
        if (slot.IsCancelRequested)
        {
            return false; // a worker answers -ECANCELED without starting it
        }

        int flags = (int)slot.RwFlags;
        long res;
        if (slot.Command == IocbCommand.Pread)
        {
            Interop.iovec one = new() { iov_base = slot.Buffer, iov_len = (nuint)slot.Length };
            res = Interop.ToRes(Interop.preadv2(slot.Fd, &one, 1, slot.Offset, flags | Interop.RWF_NOWAIT));
        }
        else
        {
            res = Interop.ToRes(Interop.preadv2(slot.Fd, slot.Iovecs, slot.IovecCount, slot.Offset, flags | Interop.RWF_NOWAIT));
        }

        if ((flags & Interop.RWF_NOWAIT) == 0 && res != slot.TotalLength && res != 0)
        {
            return false; // not cached, partly cached, or any error: a worker reads it and has the last word
        }

        if (inlineContinuation)
        {
            DeliverInline(new Completion(slot.Key, res, 0)); // a work item holding nothing else
        }
        else
        {
            Completer.Complete(slot.Key, res, 0);
        }

        return true;
    }

    /// <summary>
    /// A buffered read of a regular file: the page cache may hold it (see TryReadInline) — unless the
    /// core's own attempt (AioContext.CachedRead.cs) just found it did not: then straight to a worker.
    /// </summary>
    private static bool IsInlineCandidate(RequestSlot slot)
        => slot.Command is IocbCommand.Pread or IocbCommand.Preadv && !slot.IsDirect && !slot.IsStream && !slot.CacheMissed;
}
