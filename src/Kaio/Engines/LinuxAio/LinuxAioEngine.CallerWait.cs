// GetEvents callers on Linux AIO wait in the kernel, in io_getevents, as fio's libaio engine and
// libaio users do: the completion that ends the wait wakes the thread that wants it, and that
// thread reaps it. Before, a caller slept on a futex while the reaper thread, woken through the
// eventfd, reaped and delivered and then woke the caller: two wake-ups and four more system
// calls per completion (poll, read, futex wake, futex wait).
//
// One caller at a time is in io_getevents, holding _reapLock (the kernel moves the ring's head
// there, which no one else may move meanwhile); it takes every event that comes, for every
// waiter, and delivers them after it let go of the lock. Another caller waits for the lock (up to
// its timeout) and, once it has it, returns at once if an event was published since its wait
// began (the sequence _wakeSeq moved), else it becomes the one in the kernel.
//
// A wait in the kernel ends only for an event in the kernel's ring. An event that reaches Kaio's
// ring another way (a request the inner thread-pool engine ran, one cancelled before it reached
// the kernel, the core's own completions) wakes the sleeper with a wake request: IOCB_CMD_POLL
// for POLLIN on an eventfd whose count is never read, which the kernel completes inside io_submit
// (aio_poll() finds the mask ready) and whose event is skipped by every reap (WakeUserData). One
// is in flight at most (_wakePending). The handshake with WakeWaiters is a Dekker pair: the
// sleeper publishes _sleeper, then reads _wakeSeq; the waker advances _wakeSeq, then reads
// _sleeper — both through full fences, so either the sleeper sees the event and does not sleep,
// or the waker sees the sleeper and posts the wake.
//
// The reaper parks while callers wait (they reap) and while nothing needs it: a plain request —
// no awaiter, no callback, no eventfd — is reaped by the GetEvents that wants it. Its eventfd
// count still rises (IOCB_FLAG_RESFD), so the core's own waiters (GetEventsAsync, teardown:
// AddReaperDemand) find every completion once they unpark it.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kaio.Core;
using Microsoft.Win32.SafeHandles;

namespace Kaio.Engines.LinuxAio;

internal sealed unsafe partial class LinuxAioEngine
{
    /// <summary>aio_data of the wake request (a reserved key: never a request's).</summary>
    internal const ulong WakeUserData = RequestKey.ReservedTop - 2;

    private const int ParkedWatching = 1;         // _parked: the reaper watches a poller (WatchPoller)
    private const int ParkedIdle = 2;             // _parked: nothing needs the reaper (ParkIdle)

    private int _callerWaiters;                   // GetEvents callers between BeginCallerWait and EndCallerWait: Interlocked

    [ThreadStatic]
    private static LinuxAioEngine? s_deliveringOwnWait; // the engine whose own WaitForCompletions this thread delivers for
    private int _wakeSeq;                         // advanced by WakeWaiters while callers wait: Interlocked
    private int _sleeper;                         // 1 while a caller is in io_getevents (under _reapLock): Interlocked/Volatile
    private int _wakePending;                     // 1 while a wake request's event is owed: CAS in PostWake, cleared when reaped
    private readonly Lock _wakeLock = new();      // io_submit of the wake request against Dispose
    private bool _disposing;                      // under _wakeLock: Dispose has begun, no more wakes
    private readonly SafeFileHandle? _wakeFd;         // eventfd with a count of 1, never read: always ready for POLLIN
    private readonly bool _callerWaits;           // the wake request works here (IOCB_CMD_POLL, Linux 4.18+)

    private readonly byte[] _asyncTags;           // tag → 1 while its request needs asynchronous delivery; written by Submit
    private int _asyncInFlight;                   // such requests submitted and not yet ended: Interlocked (Submit +1, EndOf -1)
    private int _reaperDemand;                    // the core's own waiters (GetEventsAsync, teardown): Interlocked via AddReaperDemand

    /// <summary>The wake request: its iocb is the one past the requests' (see the constructor).</summary>
    private Interop.iocb* WakeIocb => &_iocbs[_capacity];

    /// <summary>
    /// The wake request's eventfd (a count of 1 that nobody reads) and its iocb; submits one wake
    /// to learn whether the kernel completes it (IOCB_CMD_POLL came in Linux 4.18). Its event is
    /// skipped by the first reap. Null, and <paramref name="works"/> false, where it does not.
    /// </summary>
    private SafeFileHandle? CreateWake(out bool works)
    {
        works = false;
        int fd = Interop.eventfd(1, Interop.EFD_CLOEXEC | Interop.EFD_NONBLOCK);
        if (fd < 0)
        {
            return null;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        Interop.iocb* cb = WakeIocb;
        *cb = default;
        cb->aio_data = WakeUserData;
        cb->aio_lio_opcode = Interop.IOCB_CMD_POLL;
        cb->aio_fildes = (uint)fd;
        cb->aio_buf = 0x1; // POLLIN: aio_poll() reads the events from aio_buf
        _wakePending = 1;
        works = SubmitWake();
        if (!works)
        {
            _wakePending = 0;
            handle.Dispose();
            return null;
        }

        return handle;
    }

    public override int BeginCallerWait()
    {
        Interlocked.Increment(ref _callerWaiters); // full fence before the read: pairs with WakeWaiters
        return Volatile.Read(ref _wakeSeq);
    }

    public override void EndCallerWait()
    {
        // Full fence (Interlocked) before reading _parked: pairs with ParkIdle's exchange.
        if (Interlocked.Decrement(ref _callerWaiters) == 0 && Volatile.Read(ref _parked) == ParkedIdle && !MayParkIdle())
        {
            UnparkReaper();
        }
    }

    // The stackalloc'd scratch is written before it is read (only its first n entries are read):
    // not zeroing it saves a 1.5-2 KB memset per call on the per-request path.
    [SkipLocalsInit]
    public override void WaitForCompletions(int timeoutMs, int token)
    {
        if (!_reapLock.TryEnter(timeoutMs))
        {
            return; // another caller sleeps in the kernel all along: its deliveries wake nobody else
        }

        Span<Completion> batch = stackalloc Completion[ReapBatch];
        int n = 0;
        try
        {
            Interlocked.Exchange(ref _sleeper, 1); // full fence: pairs with WakeWaiters' increment
            if (Volatile.Read(ref _wakeSeq) == token)
            {
                n = ReapLocked(batch);
                if (n == 0)
                {
                    n = SleepInKernel(batch, timeoutMs);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sleeper, 0);
            _reapLock.Exit();
        }

        LinuxAioEngine? outer = s_deliveringOwnWait;
        s_deliveringOwnWait = this; // see WakeWaiters
        try
        {
            Deliver(batch[..n]); // outside _reapLock: the one-way contract
        }
        finally
        {
            s_deliveringOwnWait = outer;
        }
    }

    /// <summary>io_getevents(min_nr = 1) under _reapLock: the events that came, ready for delivery.</summary>
    // The stackalloc'd scratch is written before it is read (only its first n entries are read):
    // not zeroing it saves a 1.5-2 KB memset per call on the per-request path.
    [SkipLocalsInit]
    private int SleepInKernel(Span<Completion> into, int timeoutMs)
    {
        Interop.io_event* events = stackalloc Interop.io_event[ReapBatch];
        Interop.timespec ts = new() { tv_sec = timeoutMs / 1000, tv_nsec = (timeoutMs % 1000) * 1_000_000L };
        // 0 on timeout, -1 with EINTR on a signal: either way the core's loop looks again.
        long got = Interop.io_getevents(_ctx, 1, Math.Min(into.Length, ReapBatch), events, &ts);
        int n = 0;
        for (int i = 0; i < got; i++)
        {
            if (!IsWake(events[i].data))
            {
                into[n++] = Reaped(events[i].data, events[i].res, events[i].res2);
            }
        }

        return n;
    }

    public override void WakeWaiters()
    {
        // After the core's publishing CAS (a full fence): pairs with BeginCallerWait's increment.
        // A caller delivering what its own wait reaped, with no other caller announced, wakes
        // nobody: skip the sequence's atomic increment for each of its events. A caller that
        // announces itself from now on re-checks the ring after its increment and sees the event.
        int waiters = Volatile.Read(ref _callerWaiters);
        if (waiters == 0 || (waiters == 1 && s_deliveringOwnWait == this))
        {
            return;
        }

        Interlocked.Increment(ref _wakeSeq); // full fence before the read: pairs with the sleeper's exchange
        if (Volatile.Read(ref _sleeper) != 0)
        {
            PostWake();
        }
    }

    /// <summary>Ends the sleeper's io_getevents with the wake request's event (one in flight at most).</summary>
    private void PostWake()
    {
        if (Interlocked.CompareExchange(ref _wakePending, 1, 0) != 0)
        {
            return;
        }

        // Under _wakeLock, and not at all once Dispose has begun: the thread asking may be
        // delivering the context's last event, after which teardown may free the iocbs and
        // destroy the context; Dispose takes the lock before it does, so a wake that holds it
        // finishes first and one that comes later touches nothing.
        lock (_wakeLock)
        {
            if (!_disposing && SubmitWake())
            {
                return;
            }
        }

        Volatile.Write(ref _wakePending, 0); // refused: the sleeper's wait ends at its timeout
    }

    private bool SubmitWake()
    {
        Interop.iocb* cb = WakeIocb;
        return Interop.io_submit(_ctx, 1, &cb) == 1; // EINTR is retried by the wrapper
    }

    /// <summary>The wake request's event: skipped by every reap, and the next wake may be posted.</summary>
    private bool IsWake(ulong key)
    {
        if (key != WakeUserData)
        {
            return false;
        }

        Volatile.Write(ref _wakePending, 0);
        return true;
    }

    public override void AddReaperDemand(int delta)
    {
        if (Interlocked.Add(ref _reaperDemand, delta) > 0 && delta > 0)
        {
            UnparkIfIdle();
        }
    }

    /// <summary>
    /// Nothing needs the reaper now: callers wait (they reap in the kernel), or no request in
    /// flight needs asynchronous delivery, no core waiter depends on it and no buffered request
    /// went asynchronous. A poller to watch, teardown, or any of those in flight keeps it up.
    /// Acquire reads: pair with the Interlocked changes of each count.
    /// </summary>
    private bool MayParkIdle()
        => !_reaper.IsStopping
            && _poller.Owner == 0
            && (Volatile.Read(ref _callerWaiters) != 0
                || (Volatile.Read(ref _asyncInFlight) == 0 && Volatile.Read(ref _reaperDemand) == 0 && Volatile.Read(ref _quietInFlight) == 0));

    /// <summary>
    /// The reaper rests until something needs it. Dekker pair: this exchange of _parked, then the
    /// re-check of MayParkIdle under _parkLock; whoever changes what it reads changes it through
    /// a full fence, then reads _parked and pulses under _parkLock (UnparkReaper).
    /// </summary>
    private void ParkIdle()
    {
        lock (_parkLock)
        {
            Interlocked.Exchange(ref _parked, ParkedIdle);
            while (MayParkIdle())
            {
                Monitor.Wait(_parkLock);
            }

            Volatile.Write(ref _parked, 0);
        }
    }

    /// <summary>
    /// Something MayParkIdle reads has just changed, through a full fence (an Interlocked change, a
    /// CAS, a system call): wakes the reaper if it rests. Dekker pair with ParkIdle's exchange of
    /// _parked and its re-check under _parkLock.
    /// </summary>
    private void UnparkIfIdle()
    {
        if (Volatile.Read(ref _parked) == ParkedIdle)
        {
            UnparkReaper();
        }
    }
}
