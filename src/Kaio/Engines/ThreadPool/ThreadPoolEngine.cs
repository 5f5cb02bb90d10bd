// Design: the portable engine. Requests go on one FIFO (a ring of tags, this engine's own array,
// under a lock held for a few instructions); dedicated worker threads take
// them and run the blocking call (pread/pwrite, preadv2/pwritev2 when flags are set, fsync,
// fdatasync, poll, fallocate). A request cancelled while still queued completes with -ECANCELED when a
// worker dequeues it, without starting — seed 002's block-layer case, which needs no callback.
// Poll waits register a cancel callback: each worker owns an eventfd that it polls beside the
// request's descriptor, and Cancel writes to it, so a Poll can be interrupted.
//
// A buffered read the page cache holds never reaches a worker: Submit tries it once with
// preadv2(RWF_NOWAIT) and completes it on the submitting thread when the whole answer came back
// (TryReadInline), as io_uring's inline attempt does. Measured on this VM (4 KiB cached randread,
// kaio bench, 3 rounds): 36 µs of CPU per read at QD1 with the hand-off (two context switches),
// 3.3–4.8 µs inline, against fio psync's 2.7–3.8 µs; QD32 6.6–8.5 → 3.2–4.4 µs (fio psync 3.3–4.0).
//
// An awaited read that is not alone (RequestSlot.MayCompleteInline: other requests of the
// context are outstanding) makes that attempt in a thread-pool work item instead, and its
// continuation runs inline there (AioEngine.DeliverInline): completing inside the call let one
// loop of many run on without yielding while the others' reads waited in its thread's queue.
//
// Streams (slot.IsStream: pipes, FIFOs, sockets, character devices) behave as io_uring and the
// kernel's AIO make them. Those hand the offset to ->read_iter/->write_iter, which a pipe ignores
// and a socket refuses unless it is 0 (sock_read_iter: "if (iocb->ki_pos != 0) return -ESPIPE");
// pread(2) instead refuses any offset on a file without FMODE_PREAD (ESPIPE). So a pipe, FIFO or
// socket is read and written at offset -1 (preadv2's "current position", which they do not
// have); a character device gets its offset (/dev/mem honours it) and -1 only if it refuses
// positioned I/O. A read or write that waits for a peer must stay cancellable, as io_uring's
// poll-armed request is: the worker tries the call with RWF_NOWAIT and, on -EAGAIN, polls the
// descriptor (POLLIN or POLLOUT) beside its wake eventfd, registered as the Poll is; a file
// without FMODE_NOWAIT (-EOPNOTSUPP) is polled first and then called plainly (that call cannot
// be interrupted, but readiness says it will not wait). A NoWait request makes one attempt:
// -EAGAIN (or -EOPNOTSUPP) in the event, as the kernel answers.
//
// Workers start lazily, one more whenever a request is queued and none is idle, up to the limit,
// so a context that does little I/O costs few threads. A stream request waiting for its peer
// holds a worker: requests queued behind max waiting streams wait for a worker.
// Threading: Submit from any thread (the FIFO's lock, then a write to an idle worker's eventfd: see Enqueue); Cancel from any thread;
// Dispose once, after every request completed. _workerOf[tag] names the worker that registered
// the request's cancel callback (Poll and stream reads/writes), written before the registration
// that publishes it. Per-request engine state lives in this engine's own arrays by tag (never on
// the shared slot), so an engine that hosts this one (Linux AIO, for streams) keeps its own.
using System.Runtime.InteropServices;
using Kaio.Core;

namespace Kaio.Engines.ThreadPool;

internal sealed unsafe class ThreadPoolEngine : AioEngine
{
    private const int DefaultMaxWorkers = 64;

    private readonly Lock _queueLock = new();
    private readonly int[] _queue;          // the FIFO of tags: a ring of capacity entries, guarded by _queueLock
    private readonly RequestSlot?[] _slots; // tag → the request's slot, written by Submit before its tag is queued
    private int _queueHead;                 // guarded by _queueLock
    private int _queueCount;                // guarded by _queueLock
    private readonly Worker[] _workers;
    private readonly Worker?[] _idleWorkers; // the workers waiting for work, a stack (the latest idle is woken first): guarded by _queueLock
    private int _idleCount;                  // guarded by _queueLock
    private readonly int[] _workerOf; // tag → the worker that registered its cancel callback; see the Design comment
    private readonly InlineAttempt?[] _attempts; // tag → its deferred inline attempt, made on first use (see Submit)
    private readonly Lock _startLock = new();
    private int _started;  // written under _startLock; read anywhere
    private volatile bool _stopping;
    private readonly CallerWaitGate _callerWait = new();

    internal ThreadPoolEngine(IRequestCompleter completer, int capacity, int maxWorkers)
        : base(completer)
    {
        int max = maxWorkers > 0 ? maxWorkers : Math.Min(capacity, DefaultMaxWorkers);
        _workers = new Worker[Math.Max(1, max)];
        _idleWorkers = new Worker?[_workers.Length];
        _workerOf = new int[capacity];
        _attempts = new InlineAttempt?[capacity];
        _queue = new int[capacity];
        _slots = new RequestSlot?[capacity];
    }

    public override AioEngineKind Kind => AioEngineKind.ThreadPool;

    public override bool ReadsCachedInline => true;

    // DSYNC/SYNC go through the core's deferred completion (seed 003): this engine keeps to the
    // calls every Linux has, and the fdatasync runs on the device's work queue, not a worker.
    // On a stream the core leaves them in RwFlags, and pwritev2 hands them to write_iter.
    // WaitOnCaller: GetEvents callers sleep on this engine's futex (CallerWaitGate), which the
    // core's wake-up after each published event advances, instead of the core's Monitor.
    public override EngineFeatures Features => EngineFeatures.RealIo | EngineFeatures.WaitOnCaller;

    public override int BeginCallerWait() => _callerWait.Begin();

    public override void WaitForCompletions(int timeoutMs, int token) => _callerWait.Wait(token, timeoutMs);

    public override void EndCallerWait() => _callerWait.End();

    public override void WakeWaiters() => _callerWait.Wake();

    internal override bool HoldsLockOnCurrentThread => _queueLock.IsHeldByCurrentThread || _startLock.IsHeldByCurrentThread;

    /// <summary>Worker threads started so far (for tests).</summary>
    internal int StartedWorkers => Volatile.Read(ref _started);

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
                InlineAttempt attempt = _attempts[slot.Tag] ??= new InlineAttempt(this, slot.Tag);
                _slots[slot.Tag] = slot;
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
            _slots[tag] = slot;
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
    private sealed class InlineAttempt(ThreadPoolEngine engine, int tag) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            RequestSlot slot = engine._slots[tag]!;
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

    public override void Cancel(RequestSlot slot)
    {
        // Only Poll and stream reads/writes register this callback: wake the worker polling for
        // it. A worker that has moved on sees a spurious wake-up, re-checks its own request, and
        // polls again.
        // Acquire: the registration's CAS published the index written before it.
        _workers[Volatile.Read(ref _workerOf[slot.Tag])].Wake();
    }

    /// <summary>Starts a worker for a request just queued; false at the limit (or at teardown).</summary>
    private bool StartWorker()
    {
        if (Volatile.Read(ref _started) >= _workers.Length)
        {
            return false;
        }

        lock (_startLock)
        {
            if (_stopping || _started >= _workers.Length)
            {
                return false;
            }

            var worker = new Worker(this, _started);
            _workers[_started] = worker;
            Volatile.Write(ref _started, _started + 1);
            worker.Start();
            return true;
        }
    }

    private void Run(Worker self)
    {
        while (true)
        {
            RequestSlot? slot;
            lock (_queueLock)
            {
                slot = DequeueLocked();
                if (slot is null)
                {
                    // Read under the lock: Dispose sets it, then wakes every worker, so a worker
                    // that saw false here is woken after it went idle.
                    if (_stopping)
                    {
                        return;
                    }

                    if (!self.IsIdle)
                    {
                        self.IsIdle = true;
                        _idleWorkers[_idleCount++] = self;
                    }
                }
            }

            if (slot is null)
            {
                self.WaitForWork();
                continue;
            }

            long res = slot.IsCancelRequested ? -Errno.ECANCELED : Execute(slot, self);
            Completer.Complete(slot.Key, res, 0);
        }
    }

    private RequestSlot? DequeueLocked()
    {
        if (_queueCount == 0)
        {
            return null;
        }

        int tag = _queue[_queueHead];
        _queueHead = (_queueHead + 1) % _queue.Length;
        _queueCount--;
        return _slots[tag];
    }

    private static long Execute(RequestSlot slot, Worker self)
    {
        if (slot.IsStream && slot.Command is IocbCommand.Pread or IocbCommand.Pwrite or IocbCommand.Preadv or IocbCommand.Pwritev)
        {
            return self.StreamReadWrite(slot);
        }

        long res;
        int flags = (int)slot.RwFlags;
        do
        {
            switch (slot.Command)
            {
                case IocbCommand.Pread:
                    if (flags == 0)
                    {
                        res = Interop.ToRes(Interop.pread(slot.Fd, slot.Buffer, (nuint)slot.Length, slot.Offset));
                    }
                    else
                    {
                        Interop.iovec one = new() { iov_base = slot.Buffer, iov_len = (nuint)slot.Length };
                        res = Interop.ToRes(Interop.preadv2(slot.Fd, &one, 1, slot.Offset, flags));
                    }

                    break;
                case IocbCommand.Pwrite:
                    if (flags == 0)
                    {
                        res = Interop.ToRes(Interop.pwrite(slot.Fd, slot.Buffer, (nuint)slot.Length, slot.Offset));
                    }
                    else
                    {
                        Interop.iovec one = new() { iov_base = slot.Buffer, iov_len = (nuint)slot.Length };
                        res = Interop.ToRes(Interop.pwritev2(slot.Fd, &one, 1, slot.Offset, flags));
                    }

                    break;
                case IocbCommand.Preadv:
                    res = Interop.ToRes(Interop.preadv2(slot.Fd, slot.Iovecs, slot.IovecCount, slot.Offset, flags));
                    break;
                case IocbCommand.Pwritev:
                    res = Interop.ToRes(Interop.pwritev2(slot.Fd, slot.Iovecs, slot.IovecCount, slot.Offset, flags));
                    break;
                case IocbCommand.Fsync:
                    res = Interop.ToRes(Interop.fsync(slot.Fd));
                    break;
                case IocbCommand.Fdsync:
                    res = Interop.ToRes(Interop.fdatasync(slot.Fd));
                    break;
                case IocbCommand.Poll:
                    res = self.Poll(slot);
                    break;
                case IocbCommand.Fallocate:
                    res = Interop.ToRes(Interop.fallocate(slot.Fd, (int)slot.FallocateMode, slot.Offset, slot.TotalLength));
                    break;
                default:
                    res = -Errno.EINVAL;
                    break;
            }
        }
        while (res == -Errno.EINTR);

        return res;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing)
        {
            return;
        }

        int started;
        lock (_startLock)
        {
            lock (_queueLock)
            {
                _stopping = true; // under _queueLock too: see Run
            }

            started = _started;
        }

        for (int i = 0; i < started; i++)
        {
            _workers[i].WakeForWork();
        }

        for (int i = 0; i < started; i++)
        {
            _workers[i].Join();
        }

        _callerWait.Dispose(); // every caller has left: teardown waited for them
    }

    private sealed class Worker
    {
        private readonly ThreadPoolEngine _engine;
        private readonly Thread _thread;
        private int _wakeFd = -1; // created by this worker on its first Poll; closed after Join
        private readonly int _idleFd;  // a blocking eventfd the worker waits on while idle (see Enqueue); -1 if none could be made

        internal Worker(ThreadPoolEngine engine, int index)
        {
            _engine = engine;
            Index = index;
            // Without one (out of descriptors) the worker naps 1 ms at a time while idle instead.
            _idleFd = Interop.eventfd(0, Interop.EFD_CLOEXEC);
            _thread = new Thread(() => _engine.Run(this))
            {
                IsBackground = true,
                Name = "kaio-tp-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
        }

        internal int Index { get; }

        /// <summary>On the engine's stack of idle workers: guarded by the engine's _queueLock.</summary>
        internal bool IsIdle { get; set; }

        /// <summary>Ends this worker's WaitForWork (or its next one): a request was queued for it, or teardown.</summary>
        internal void WakeForWork()
        {
            if (_idleFd >= 0)
            {
                ulong one = 1;
                _ = Interop.write(_idleFd, &one, sizeof(ulong));
            }
        }

        /// <summary>Waits for WakeForWork; returns early on EINTR (the caller looks at the queue again).</summary>
        internal void WaitForWork()
        {
            if (_idleFd < 0)
            {
                Thread.Sleep(1);
                return;
            }

            ulong count;
            _ = Interop.read(_idleFd, &count, sizeof(ulong));
        }

        internal void Start() => _thread.UnsafeStart();

        internal void Join()
        {
            _thread.Join();
            int fd = Interlocked.Exchange(ref _wakeFd, -1);
            if (fd >= 0)
            {
                Interop.close(fd);
            }

            if (_idleFd >= 0)
            {
                Interop.close(_idleFd);
            }
        }

        internal void Wake()
        {
            int fd = Volatile.Read(ref _wakeFd);
            if (fd >= 0)
            {
                ulong one = 1;
                Interop.write(fd, &one, sizeof(ulong));
            }
        }

        /// <summary>A cancellable poll(2) on the request's descriptor; the result is revents.</summary>
        internal long Poll(RequestSlot slot)
        {
            int err = RegisterCancel(slot);
            if (err < 0)
            {
                return err;
            }

            Interop.pollfd* fds = stackalloc Interop.pollfd[2];
            while (true)
            {
                fds[0] = new Interop.pollfd { fd = slot.Fd, events = slot.PollEvents };
                fds[1] = new Interop.pollfd { fd = _wakeFd, events = PollEvents.In };
                int rc = Interop.poll(fds, 2, -1);
                if (rc < 0)
                {
                    err = Interop.LastRes();
                    if (err == -Errno.EINTR)
                    {
                        continue;
                    }

                    return err;
                }

                if (fds[0].revents != 0)
                {
                    // aio_poll_complete(): the asked events plus the ones always reported.
                    return fds[0].revents & (slot.PollEvents | PollEvents.Err | PollEvents.Hup | PollEvents.Nval);
                }

                if (fds[1].revents != 0)
                {
                    ulong drained;
                    Interop.read(_wakeFd, &drained, sizeof(ulong));
                    if (slot.IsCancelRequested)
                    {
                        return -Errno.ECANCELED;
                    }
                }
            }
        }

        /// <summary>
        /// A read or write on a stream: the offset as the kernel's read_iter sees it, and a wait
        /// for the peer that Cancel can interrupt (see the Design comment).
        /// </summary>
        internal long StreamReadWrite(RequestSlot slot)
        {
            // sock_read_iter()/sock_write_iter(): "if (iocb->ki_pos != 0) return -ESPIPE;".
            if (slot.FileType == Interop.S_IFSOCK && slot.Offset != 0)
            {
                return -Errno.ESPIPE;
            }

            long offset = slot.FileType == Interop.S_IFCHR ? slot.Offset : -1;
            int flags = (int)slot.RwFlags;
            if ((flags & Interop.RWF_NOWAIT) != 0)
            {
                return Transfer(slot, ref offset, flags);
            }

            int err = RegisterCancel(slot);
            if (err < 0)
            {
                return err;
            }

            short events = slot.Command is IocbCommand.Pwrite or IocbCommand.Pwritev ? PollEvents.Out : PollEvents.In;
            int attempt = flags | Interop.RWF_NOWAIT;
            while (true)
            {
                long res = Transfer(slot, ref offset, attempt);
                if (res == -Errno.EOPNOTSUPP && attempt != flags)
                {
                    // No FMODE_NOWAIT on this file: wait for readiness first, then call plainly.
                    attempt = flags;
                    res = -Errno.EAGAIN;
                }

                if (res != -Errno.EAGAIN)
                {
                    return res;
                }

                res = WaitReady(slot, events);
                if (res < 0)
                {
                    return res;
                }
            }
        }

        /// <summary>One preadv2/pwritev2 of the request at <paramref name="offset"/>, which becomes -1 if the file refuses a position.</summary>
        private static long Transfer(RequestSlot slot, ref long offset, int flags)
        {
            bool vectored = slot.Command is IocbCommand.Preadv or IocbCommand.Pwritev;
            bool writes = slot.Command is IocbCommand.Pwrite or IocbCommand.Pwritev;
            Interop.iovec one = new() { iov_base = slot.Buffer, iov_len = (nuint)slot.Length };
            Interop.iovec* iov = vectored ? slot.Iovecs : &one;
            int count = vectored ? slot.IovecCount : 1;
            while (true)
            {
                long res = Interop.ToRes(writes
                    ? Interop.pwritev2(slot.Fd, iov, count, offset, flags)
                    : Interop.preadv2(slot.Fd, iov, count, offset, flags));
                if (res == -Errno.EINTR)
                {
                    continue;
                }

                if (res == -Errno.ESPIPE && offset != -1)
                {
                    // A character device opened nonseekable: its read_iter ignores the offset.
                    offset = -1;
                    continue;
                }

                return res;
            }
        }

        /// <summary>
        /// Waits until the stream is ready for <paramref name="events"/> (or hung up, or in error:
        /// the next call reports that) or the request is cancelled (-ECANCELED).
        /// </summary>
        private long WaitReady(RequestSlot slot, short events)
        {
            Interop.pollfd* fds = stackalloc Interop.pollfd[2];
            while (true)
            {
                fds[0] = new Interop.pollfd { fd = slot.Fd, events = events };
                fds[1] = new Interop.pollfd { fd = _wakeFd, events = PollEvents.In };
                if (Interop.poll(fds, 2, -1) < 0)
                {
                    int err = Interop.LastRes();
                    if (err == -Errno.EINTR)
                    {
                        continue;
                    }

                    return err;
                }

                if (fds[1].revents != 0)
                {
                    // Checked before readiness: a stream that polls ready but still answers
                    // EAGAIN (another reader took the data) must not keep a cancel waiting.
                    ulong drained;
                    Interop.read(_wakeFd, &drained, sizeof(ulong));
                    if (slot.IsCancelRequested)
                    {
                        return -Errno.ECANCELED;
                    }
                }

                if ((fds[0].revents & PollEvents.Nval) != 0)
                {
                    return -Errno.EBADF;
                }

                if (fds[0].revents != 0)
                {
                    return 0;
                }
            }
        }

        /// <summary>
        /// Makes this worker's wake eventfd (once) and registers the request's cancel callback,
        /// which wakes this worker; -ECANCELED when a cancel was asked already.
        /// </summary>
        private int RegisterCancel(RequestSlot slot)
        {
            if (_wakeFd < 0)
            {
                int fd = Interop.eventfd(0, Interop.EFD_CLOEXEC | Interop.EFD_NONBLOCK);
                if (fd < 0)
                {
                    return Interop.LastRes();
                }

                // Release: Cancel's Volatile.Read sees a complete descriptor.
                Volatile.Write(ref _wakeFd, fd);
            }

            // Release (and the CAS in TrySetCancelCallback after it): pairs with the read in Cancel.
            Volatile.Write(ref _engine._workerOf[slot.Tag], Index);
            // A cancel asked before this point only marked the request: it has not started, so
            // it is cancelled for sure, and no callback will wake this worker for it.
            return slot.TrySetCancelCallback() == CancelRegistration.CancelAsked ? -Errno.ECANCELED : 0;
        }
    }
}
