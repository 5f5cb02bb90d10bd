// Design: io_getevents. Reaps events from the completion ring into the caller's span; waits
// (without a lost wake-up) until at least minNr have been read, the timeout passes, or the
// context is destroyed. Reaping returns the events' budget (refill_reqs_available).
// Wake-up protocol (Dekker): a waiter increments _waiters, then re-checks the ring under
// _waitLock before sleeping; a producer publishes its event (a CAS, a full fence), then reads
// _waiters and, if non-zero, pulses under the same lock. Either the waiter sees the event or the
// producer sees the waiter. Async waiters publish a TaskCompletionSource the same way.
// fs/aio.c: SYSCALL_DEFINE5(io_getevents), read_events(), aio_read_events(), aio_read_events_ring().
using System.Diagnostics;
using Kaio.Core;
using Kaio.Engines;

namespace Kaio;

public sealed partial class AioContext
{
    /// <summary>
    /// io_getevents(2): reads between <paramref name="minNr"/> and <paramref name="events"/>.Length
    /// completion events.
    /// </summary>
    /// <param name="minNr">Wait until at least this many events were read (0: do not wait).</param>
    /// <param name="events">Where the events go; its length is <c>nr</c>.</param>
    /// <param name="timeout">How long to wait; null waits without limit; <see cref="TimeSpan.Zero"/> only polls.</param>
    /// <returns>The number of events read; fewer than <paramref name="minNr"/> only when the timeout passed or the context was destroyed while waiting.</returns>
    /// <exception cref="AioException">EINVAL: <paramref name="minNr"/> is negative or greater than <paramref name="events"/>.Length, or the timeout is negative.</exception>
    /// <exception cref="ObjectDisposedException">The context was destroyed before the call, or while waiting with no event read (the kernel's EINVAL).</exception>
    /// <example>
    /// <code>
    /// IoEvent[] events = new IoEvent[32];
    /// int n = ctx.GetEvents(minNr: 1, events, timeout: TimeSpan.FromSeconds(1));
    /// foreach (IoEvent ev in events.AsSpan(0, n))
    ///     Console.WriteLine(ev.Result >= 0 ? $"{ev.Data}: {ev.Result} bytes" : $"{ev.Data}: {Errno.Name((int)-ev.Result)}");
    /// </code>
    /// </example>
    public int GetEvents(int minNr, Span<IoEvent> events, TimeSpan? timeout)
    {
        long timeoutTicks = CheckGetEventsArgs(minNr, events.Length, timeout);
        long deadline = 0; // read the clock only when the call must wait: a reap that finds its events does not
        if (!TryEnter())
        {
            ThrowHelper.ThrowDisposed();
        }

        try
        {
            int n = 0;
            while (true)
            {
                n += ReadEvents(events[n..]);
                if (n >= minNr || n == events.Length)
                {
                    return n;
                }

                if (IsDisposed)
                {
                    return n > 0 ? n : ThrowDisposedInt();
                }

                if (deadline == 0)
                {
                    deadline = DeadlineAfter(timeoutTicks);
                }

                int waitMs = RemainingMs(deadline);
                if (waitMs == 0)
                {
                    return n;
                }

                if ((_features & EngineFeatures.WaitOnCaller) != 0)
                {
                    WaitInEngine(waitMs);
                    continue;
                }

                _engine.AddReaperDemand(1); // this wait is not in the engine: its reaper delivers
                try
                {
                    lock (_waitLock)
                    {
                        Interlocked.Increment(ref _waiters);
                        try
                        {
                            // Re-check after announcing ourselves (pairs with WakeWaiters' read of _waiters).
                            if (_ring.Count == 0 && !IsDisposed)
                            {
                                Monitor.Wait(_waitLock, waitMs);
                            }
                        }
                        finally
                        {
                            Interlocked.Decrement(ref _waiters);
                        }
                    }
                }
                finally
                {
                    _engine.AddReaperDemand(-1);
                }
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// The async twin of <see cref="GetEvents"/>: completes without blocking a thread. Completes
    /// synchronously (without allocating) when enough events are already there.
    /// </summary>
    /// <exception cref="AioException">EINVAL, as <see cref="GetEvents"/>.</exception>
    /// <exception cref="ObjectDisposedException">As <see cref="GetEvents"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public ValueTask<int> GetEventsAsync(int minNr, Memory<IoEvent> events, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        long timeoutTicks = CheckGetEventsArgs(minNr, events.Length, timeout);
        if (!TryEnter())
        {
            ThrowHelper.ThrowDisposed();
        }

        int n;
        try
        {
            n = ReadEvents(events.Span);
        }
        finally
        {
            Exit();
        }

        if (n >= minNr || n == events.Length || timeoutTicks == 0)
        {
            return new ValueTask<int>(n);
        }

        return GetEventsSlowAsync(minNr, events, n, DeadlineAfter(timeoutTicks), cancellationToken);
    }

    private async ValueTask<int> GetEventsSlowAsync(int minNr, Memory<IoEvent> events, int n, long deadline, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource signal = PublishAsyncSignal();
            if (!TryEnter())
            {
                return n > 0 ? n : ThrowDisposedInt();
            }

            try
            {
                n += ReadEvents(events.Span[n..]);
            }
            finally
            {
                Exit();
            }

            if (n >= minNr || n == events.Length)
            {
                return n;
            }

            if (IsDisposed)
            {
                return n > 0 ? n : ThrowDisposedInt();
            }

            int waitMs = RemainingMs(deadline);
            if (waitMs == 0)
            {
                return n;
            }

            // This waiter does not reap: while it waits, the engine's reaper must deliver.
            _engine.AddReaperDemand(1);
            try
            {
                await signal.Task.WaitAsync(waitMs == Timeout.Infinite ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(waitMs), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Loop once more: read what arrived, then the deadline check returns.
            }
            finally
            {
                _engine.AddReaperDemand(-1);
            }
        }
    }

    /// <summary>
    /// Waits inside the engine (io_uring: in io_uring_enter on this thread) rather than for a
    /// hand-off from its reaper. Announce, then re-check the ring: a Dekker pair with WakeWaiters,
    /// which publishes an event and then asks the engine to wake whoever announced. The engine
    /// owns the count of such waiters (one owner): it decides whether a wake is needed.
    /// </summary>
    private void WaitInEngine(int waitMs)
    {
        int token = _engine.BeginCallerWait(); // a full fence before the re-check below
        try
        {
            if (_ring.Count == 0 && !IsDisposed)
            {
                _engine.WaitForCompletions(waitMs == Timeout.Infinite ? EngineWaitCapMs : Math.Min(waitMs, EngineWaitCapMs), token);
            }
        }
        finally
        {
            _engine.EndCallerWait();
        }
    }

    private TaskCompletionSource PublishAsyncSignal()
    {
        TaskCompletionSource? current = Volatile.Read(ref _asyncSignal);
        if (current is not null && !current.Task.IsCompleted)
        {
            return current;
        }

        var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Full fence (CAS): pairs with WakeWaiters' read of _asyncSignal after publishing an event.
        TaskCompletionSource? seen = Interlocked.CompareExchange(ref _asyncSignal, fresh, current);
        return seen == current ? fresh : seen!;
    }

    /// <summary>fs/aio.c: aio_read_events_ring(). Moves events to <paramref name="into"/> and returns their budget.</summary>
    private int ReadEvents(Span<IoEvent> into)
    {
        if ((_features & EngineFeatures.ReapOnCaller) != 0 && _ring.Count < into.Length)
        {
            _engine.TryReap();
        }

        // One reader at a time (the kernel's ring_lock), and the budget returned only after the
        // cells are released: a reader stalled between taking a cell and releasing it then still
        // holds that event's budget, so no producer can lap the ring onto its cell.
        int n = 0;
        if (_ring.Count == 0)
        {
            return 0; // nothing published: an empty poll takes no lock
        }

        lock (_ringReadLock)
        {
            while (n < into.Length && _ring.TryDequeue(out IoEvent ev))
            {
                into[n++] = ev;
            }
        }

        if (n > 0)
        {
            PutReqs(n); // refill_reqs_available()
        }

        return n;
    }

    /// <summary>Wakes sync and async waiters after an event was published (or at teardown).</summary>
    private void WakeWaiters()
    {
        // After the ring's CAS (a full fence): pairs with WaitInEngine's announce-then-check. The
        // engine reads its own count of waiters and does nothing when there is none.
        if ((_features & EngineFeatures.WaitOnCaller) != 0)
        {
            _engine.WakeWaiters();
        }

        // Reads after the ring's CAS (a full fence): pairs with the waiters' increment-then-check.
        if (Volatile.Read(ref _waiters) != 0)
        {
            lock (_waitLock)
            {
                Monitor.PulseAll(_waitLock);
            }
        }

        TaskCompletionSource? signal = Volatile.Read(ref _asyncSignal);
        if (signal is not null && Interlocked.CompareExchange(ref _asyncSignal, null, signal) == signal)
        {
            signal.TrySetResult();
        }
    }

    /// <summary>Checks io_getevents' arguments; returns the timeout in Stopwatch ticks (long.MaxValue: none).</summary>
    private static long CheckGetEventsArgs(int minNr, int nr, TimeSpan? timeout)
    {
        // fs/aio.c: do_io_getevents(): "if (likely(min_nr <= nr && min_nr >= 0))", else -EINVAL;
        // a timespec with negative fields is -EINVAL.
        if (minNr < 0 || minNr > nr)
        {
            ThrowHelper.ThrowAio(Errno.EINVAL, $"io_getevents: minNr {minNr} must be between 0 and nr ({nr})");
        }

        if (timeout is null)
        {
            return long.MaxValue;
        }

        if (timeout.Value < TimeSpan.Zero)
        {
            ThrowHelper.ThrowAio(Errno.EINVAL, "io_getevents: negative timeout");
        }

        double ticks = timeout.Value.TotalSeconds * Stopwatch.Frequency;
        return ticks >= long.MaxValue ? long.MaxValue : (long)ticks;
    }

    /// <summary>
    /// The deadline <paramref name="timeoutTicks"/> from now (long.MaxValue: none). The timeout
    /// runs from the first time the call finds too few events, not from its entry: they are the
    /// same but for the reap in between, and a call that finds its events reads no clock.
    /// </summary>
    private static long DeadlineAfter(long timeoutTicks)
    {
        if (timeoutTicks == long.MaxValue)
        {
            return long.MaxValue;
        }

        long now = Stopwatch.GetTimestamp();
        return timeoutTicks >= long.MaxValue - now ? long.MaxValue : now + timeoutTicks;
    }

    /// <summary>Milliseconds left until <paramref name="deadline"/>: Infinite for none, 0 when passed.</summary>
    private static int RemainingMs(long deadline)
    {
        if (deadline == long.MaxValue)
        {
            return Timeout.Infinite;
        }

        long left = deadline - Stopwatch.GetTimestamp();
        if (left <= 0)
        {
            return 0;
        }

        double ms = Math.Ceiling(left * 1000.0 / Stopwatch.Frequency);
        return (int)Math.Min(ms, int.MaxValue - 1);
    }

    private static int ThrowDisposedInt()
    {
        ThrowHelper.ThrowDisposed();
        return 0;
    }
}
