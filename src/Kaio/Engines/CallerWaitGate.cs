// Design: the GetEvents callers' wait for an engine without a kernel wait of its own (the thread-pool
// engine): a futex on one word of native memory, a sequence number that every wake-up advances.
// The core's Monitor wait it replaces (lock, Monitor.Wait, PulseAll under the lock) cost about four
// futex calls per wake-up in glibc's mutex and condition variable (strace -c of `kaio bench
// --ioengine=threadpool --direct=1 --iodepth=1`: 4.2-4.5 per read); this costs one on each side.
//
// Protocol (a Dekker pair with the core's publishing CAS): a caller announces itself (Begin: the
// count, a full fence), reads the sequence, re-checks the ring (the core does), and sleeps while
// the sequence still holds what it read. A producer publishes its event (a full fence), then, if
// anyone is announced, advances the sequence and wakes every sleeper. Either the caller's re-check
// sees the event, or the producer sees the caller; and a wake-up between the caller's read and its
// sleep changes the word, so FUTEX_WAIT returns at once (EAGAIN). The word is native memory, so
// the garbage collector never moves it; it is freed in Dispose, after every caller has left (the
// core's teardown waits for them).
using System.Runtime.InteropServices;

namespace Kaio.Engines;

internal sealed unsafe class CallerWaitGate : IDisposable
{
    private int* _sequence = (int*)NativeMemory.AlignedAlloc(64, 64); // a cache line of its own
    private int _waiters; // Interlocked

    public CallerWaitGate()
    {
        *_sequence = 0;
    }

    /// <summary>Announces a caller (a full fence) and returns the sequence it must see change.</summary>
    public int Begin()
    {
        Interlocked.Increment(ref _waiters);
        return Volatile.Read(ref *_sequence);
    }

    /// <summary>Sleeps until a wake-up after <see cref="Begin"/> returned <paramref name="token"/>, or <paramref name="timeoutMs"/>.</summary>
    public void Wait(int token, int timeoutMs)
    {
        Interop.timespec ts = new() { tv_sec = timeoutMs / 1000, tv_nsec = (timeoutMs % 1000) * 1_000_000L };
        // 0, EAGAIN (already woken), ETIMEDOUT or EINTR: the caller's loop looks at the ring again.
        _ = Interop.futex_wait(_sequence, token, timeoutMs < 0 ? null : &ts);
    }

    /// <summary>The caller has stopped waiting.</summary>
    public void End() => Interlocked.Decrement(ref _waiters);

    /// <summary>After an event was published (a full fence): wakes every announced caller; nothing when there is none.</summary>
    public void Wake()
    {
        if (Volatile.Read(ref _waiters) == 0)
        {
            return;
        }

        Interlocked.Increment(ref *_sequence);
        _ = Interop.futex_wake(_sequence, int.MaxValue);
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_sequence);
        _sequence = null;
    }
}
