// Design: a counting semaphore whose Wait sleeps in the kernel at once, on a futex, without
// spinning first. SemaphoreSlim.Wait spins (and calls sched_yield) before it blocks; for a
// thread that is woken for one short job and then waits again — the deferred work queue's
// workers, woken once per durable write at queue depth 1 — that spin was most of the CPU the
// wake-up cost. Here a waiter takes a permit by CAS if one is there and otherwise sleeps while the
// count is still 0; Release adds a permit and wakes one sleeper if anyone sleeps. A Release between
// a waiter's read of 0 and its sleep changes the word, so FUTEX_WAIT returns at once (EAGAIN) and
// the waiter looks again: no lost wake-up. The word is native memory, never moved by the garbage
// collector; Dispose frees it, and must come after every waiter has left.
using System.Runtime.InteropServices;

namespace Kaio.Core;

internal sealed unsafe class FutexSemaphore : IDisposable
{
    private int* _count = (int*)NativeMemory.AlignedAlloc(64, 64); // a cache line of its own
    private int _sleepers; // waiters between announcing themselves and leaving: Interlocked

    public FutexSemaphore()
    {
        *_count = 0;
    }

    /// <summary>Permits not yet taken (tests and diagnostics).</summary>
    public int CurrentCount => Volatile.Read(ref *_count);

    /// <summary>Takes a permit, sleeping until there is one.</summary>
    public void Wait()
    {
        while (true)
        {
            int count = Volatile.Read(ref *_count);
            if (count > 0)
            {
                if (Interlocked.CompareExchange(ref *_count, count - 1, count) == count)
                {
                    return;
                }

                continue;
            }

            // Announce (a full fence), then sleep only while the count still reads 0: a Release
            // after the announcement either changed the word first (EAGAIN) or sees the sleeper.
            Interlocked.Increment(ref _sleepers);
            _ = Interop.futex_wait(_count, 0, null); // 0, EAGAIN or EINTR: look again
            Interlocked.Decrement(ref _sleepers);
        }
    }

    /// <summary>Adds <paramref name="permits"/> permits and wakes as many sleepers.</summary>
    public void Release(int permits = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(permits);
        Interlocked.Add(ref *_count, permits); // a full fence before the read of _sleepers
        if (Volatile.Read(ref _sleepers) != 0)
        {
            _ = Interop.futex_wake(_count, permits);
        }
    }

    /// <summary>Frees the word; nobody may wait or release after it.</summary>
    public void Dispose()
    {
        NativeMemory.AlignedFree(_count);
        _count = null;
    }
}
