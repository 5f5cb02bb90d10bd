// Design: the portable engine. Requests go on one FIFO (intrusive, through the slot's EngineNext,
// under a lock held for a few instructions); dedicated worker threads take
// them and run the blocking call (pread/pwrite, preadv2/pwritev2 when flags are set, fsync,
// fdatasync, poll). A request cancelled while still queued completes with -ECANCELED when a
// worker dequeues it, without starting — seed 002's block-layer case, which needs no callback.
// Poll waits register a cancel callback: each worker owns an eventfd that it polls beside the
// request's descriptor, and Cancel writes to it, so a Poll can be interrupted.
// Workers start lazily, one more whenever a request is queued and none is idle, up to the limit,
// so a context that does little I/O costs few threads.
// Threading: Submit from any thread (the FIFO's lock + semaphore); Cancel from any thread;
// Dispose once, after every request completed.
using System.Runtime.InteropServices;
using Kaio.Core;

namespace Kaio.Engines.ThreadPool;

internal sealed unsafe class ThreadPoolEngine : AioEngine
{
    private const int DefaultMaxWorkers = 64;

    private readonly Lock _queueLock = new();
    private RequestSlot? _head; // guarded by _queueLock
    private RequestSlot? _tail; // guarded by _queueLock
    private readonly SemaphoreSlim _work = new(0);
    private readonly Worker[] _workers;
    private readonly Lock _startLock = new();
    private int _started;  // written under _startLock; read anywhere
    // Workers waiting for work that no submitter has claimed yet: a worker adds itself before it
    // waits; a submitter takes one (CAS) for its request, or starts a worker, or counts the
    // request in _backlog for the next worker that comes back. Each request thus has a worker
    // that will take it, and none waits on an idle worker that another request already took.
    private int _idle;
    private int _backlog;  // requests queued with no worker claimed; taken by returning workers
    private volatile bool _stopping;

    internal ThreadPoolEngine(IRequestCompleter completer, int capacity, int maxWorkers)
        : base(completer)
    {
        int max = maxWorkers > 0 ? maxWorkers : Math.Min(capacity, DefaultMaxWorkers);
        _workers = new Worker[Math.Max(1, max)];
    }

    public override AioEngineKind Kind => AioEngineKind.ThreadPool;

    // DSYNC/SYNC go through the core's deferred completion (seed 003): this engine keeps to the
    // calls every Linux has, and the fdatasync runs on the device's work queue, not a worker.
    public override EngineFeatures Features => EngineFeatures.RealIo;

    /// <summary>Worker threads started so far (for tests).</summary>
    internal int StartedWorkers => Volatile.Read(ref _started);

    public override int Submit(RequestSlot slot)
    {
        slot.EngineNext = null;
        lock (_queueLock)
        {
            if (_tail is null)
            {
                _head = slot;
            }
            else
            {
                _tail.EngineNext = slot;
            }

            _tail = slot;
        }

        if (!TryTakeOne(ref _idle) && !StartWorker())
        {
            Interlocked.Increment(ref _backlog);
        }

        _work.Release();
        return 0;
    }

    public override void Cancel(RequestSlot slot)
    {
        // Only Poll registers this callback: wake the worker polling for it. A worker that has
        // moved on sees a spurious wake-up, re-checks its own request, and polls again.
        _workers[slot.EngineInt].Wake();
    }

    private static bool TryTakeOne(ref int counter)
    {
        int value = Volatile.Read(ref counter);
        while (value > 0)
        {
            int seen = Interlocked.CompareExchange(ref counter, value - 1, value);
            if (seen == value)
            {
                return true;
            }

            value = seen;
        }

        return false;
    }

    /// <summary>Starts a worker already claimed by the caller's request; false at the limit.</summary>
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
        bool claimed = true; // a new worker is started for one request
        while (true)
        {
            if (!claimed && !TryTakeOne(ref _backlog))
            {
                Interlocked.Increment(ref _idle);
            }

            claimed = false;
            _work.Wait();
            // Every permit was released after its request was queued, so one is there unless
            // this is teardown's wake-up.
            RequestSlot? slot = Dequeue();
            if (slot is null)
            {
                if (_stopping)
                {
                    return;
                }

                continue;
            }

            long res = slot.IsCancelRequested ? -Errno.ECANCELED : Execute(slot, self);
            Completer.Complete(slot.Key, res, 0);
        }
    }

    private RequestSlot? Dequeue()
    {
        lock (_queueLock)
        {
            RequestSlot? slot = _head;
            if (slot is not null)
            {
                _head = slot.EngineNext;
                if (_head is null)
                {
                    _tail = null;
                }

                slot.EngineNext = null;
            }

            return slot;
        }
    }

    private static long Execute(RequestSlot slot, Worker self)
    {
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
            _stopping = true;
            started = _started;
        }

        _work.Release(Math.Max(1, started));
        for (int i = 0; i < started; i++)
        {
            _workers[i].Join();
        }

        _work.Dispose();
    }

    private sealed class Worker
    {
        private readonly ThreadPoolEngine _engine;
        private readonly Thread _thread;
        private int _wakeFd = -1; // created by this worker on its first Poll; closed after Join

        internal Worker(ThreadPoolEngine engine, int index)
        {
            _engine = engine;
            Index = index;
            _thread = new Thread(() => _engine.Run(this))
            {
                IsBackground = true,
                Name = "kaio-tp-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
        }

        internal int Index { get; }

        internal void Start() => _thread.UnsafeStart();

        internal void Join()
        {
            _thread.Join();
            int fd = Interlocked.Exchange(ref _wakeFd, -1);
            if (fd >= 0)
            {
                Interop.close(fd);
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

            slot.EngineInt = Index;
            slot.TrySetCancelCallback(); // runs Cancel (a wake-up) at once if cancel came first

            Interop.pollfd* fds = stackalloc Interop.pollfd[2];
            while (true)
            {
                fds[0] = new Interop.pollfd { fd = slot.Fd, events = slot.PollEvents };
                fds[1] = new Interop.pollfd { fd = _wakeFd, events = PollEvents.In };
                int rc = Interop.poll(fds, 2, -1);
                if (rc < 0)
                {
                    int err = Interop.LastRes();
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
    }
}
