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

internal sealed unsafe partial class ThreadPoolEngine : AioEngine
{
    private const int DefaultMaxWorkers = 64;

    private readonly Lock _queueLock = new();
    private readonly int[] _queue;          // the FIFO of tags: a ring of capacity entries, guarded by _queueLock
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
    }

    public override AioEngineKind Kind => AioEngineKind.ThreadPool;

    public override bool ReadsCachedInline => true;

    // DSYNC/SYNC: the same rule as the native engines (NativeSyncFlags) where pwritev2 takes
    // RWF_DSYNC (Linux 4.7): an O_DIRECT write keeps the flag and the worker's pwritev2 makes it
    // durable (a FUA write where the device has one); a buffered write goes through the core's
    // group commit (seed 003), its fdatasync on the device's work queue. Where pwritev2 refuses the
    // flag, every DSYNC/SYNC write is group-committed. O_DIRECT RWF_DSYNC randwrite at QD1
    // (kaio bench, 3 rounds, same minute): group-committed with two more hand-offs per write,
    // 181-196 µs of CPU per write at 4.6-5.1k IOPS (87-100 µs once the work queue stopped
    // spinning, FutexSemaphore); native, 62-67 µs at 7.0-7.7k; fio psync O_DSYNC 37-40 µs at
    // 8.2-9.6k. On a stream the core leaves the flags in RwFlags, and pwritev2 hands them to write_iter.
    // WaitOnCaller: GetEvents callers sleep on this engine's futex (CallerWaitGate), which the
    // core's wake-up after each published event advances, instead of the core's Monitor.
    public override EngineFeatures Features => EngineFeatures.RealIo | EngineFeatures.WaitOnCaller
        | (s_pwritev2TakesDsync.Value ? EngineFeatures.NativeSyncFlags : EngineFeatures.None);

    /// <summary>Whether pwritev2 knows RWF_DSYNC here: a zero-length write to /dev/null with it (-EOPNOTSUPP or -ENOSYS if not).</summary>
    private static readonly Lazy<bool> s_pwritev2TakesDsync = new(static () =>
    {
        int fd = Interop.open("/dev/null", Interop.O_WRONLY | Interop.O_CLOEXEC, 0);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            byte b = 0;
            Interop.iovec none = new() { iov_base = &b, iov_len = 0 };
            return Interop.pwritev2(fd, &none, 1, -1, (int)AioRwFlags.Dsync) >= 0;
        }
        finally
        {
            _ = Interop.close(fd);
        }
    });

    internal override bool HoldsLockOnCurrentThread => _queueLock.IsHeldByCurrentThread || _startLock.IsHeldByCurrentThread;

    /// <summary>Worker threads started so far (for tests).</summary>
    internal int StartedWorkers => Volatile.Read(ref _started);

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
}
