// Design: an awaited read the page cache already holds completes inside the call. ReadAsync on a
// buffered regular file (or block device) first tries one preadv2(RWF_NOWAIT) on the calling
// thread — the attempt io_uring's io_read() makes with IOCB_NOWAIT, made before any slot, budget
// unit or token registration is taken — and when the whole answer came back returns an
// already-completed ValueTask: the request never reaches the engine. Anything else (-EAGAIN: not
// cached; a short read: partly cached, or at end of file; any error) goes the usual way and the
// engine reads it all again and has the last word, so results, errors and where they arrive are
// those of the engine path. A read is idempotent on its buffer, so reading a range twice is safe.
//
// Why (issue 9): N tasks each awaiting cached 4 KiB reads. Through any engine a read costs a
// hand-off and a continuation on another thread; through io_uring the coalesced submissions of
// all awaiters run on one thread (the ring's lock serializes them), so one core did every copy
// while RandomAccess's work items (a pread each) used both. Inline, each task's read is one system
// call on its own thread, on as many cores as there are.
//
// Fairness: a loop whose reads all complete inline never yields its thread, and with more loops
// than pool threads the others would wait (RandomAccess's loops starve that way for seconds). So
// a thread makes at most InlineRun inline completions in a row while other work waits for a pool
// thread (ThreadPool.PendingWorkItemCount); the next read goes through the
// engine, and its continuation through the thread pool's global queue (RequestSlot.Yields: never
// inline in an engine's work item, never before the await), behind the other loops' work — run
// inline by io_uring's coalescing work item, the yielded loops all gathered on its one thread
// (8 tasks: 1.0 core busy, 0.97x RandomAccess). Misses: where the cache
// holds little (a large file read at random), every attempt costs a failed system call; after
// MissesBeforeBackoff misses in a row the context tries only one read in BackoffPeriod until one
// hits again. A file system that refuses RWF_NOWAIT (EOPNOTSUPP) is not asked again for that handle.
//
// Off when AioContextOptions.CompleteCachedReadsInline is false, and for engines that do no real
// I/O (the null engine, test engines): their requests must reach them.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kaio.Core;
using Kaio.Diagnostics;

namespace Kaio;

public sealed partial class AioContext
{
    /// <summary>Inline completions a thread makes in a row before the next read yields through the engine.</summary>
    internal const int InlineRun = 16;

    private const int MissesBeforeBackoff = 8;
    private const int BackoffPeriod = 16;

    [ThreadStatic]
    private static int s_inlineRun;



    private readonly bool _cachedReadsInline; // set once: the option, and an engine that does real I/O
    private int _inlineMisses;                // misses in a row (racy by design: a hint)
    private int _inlineSkips;                 // counts attempts skipped while backing off (racy by design)

    /// <summary>
    /// One preadv2(RWF_NOWAIT) of <paramref name="length"/> bytes at <paramref name="buffer"/>;
    /// true with the count when the page cache held all of it. The caller validated the arguments
    /// and pinned the buffer.
    /// </summary>
    private unsafe bool TryReadCached(SafeFileHandle handle, byte* buffer, int length, long fileOffset, out int read, out CachedRead outcome)
    {
        read = 0;
        outcome = CachedRead.NotTried;
        if (!_cachedReadsInline || length == 0 || Volatile.Read(ref _dead) != 0)
        {
            return false;
        }

        if (_inlineMisses >= MissesBeforeBackoff && ++_inlineSkips % BackoffPeriod != 0)
        {
            return false;
        }

        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            if (_handles.Get(handle, fd, out HandleInfo? info) < 0 || !info!.MayReadCachedInline)
            {
                return false;
            }

            // The end of a run: this one yields — through the engine, its continuation through the
            // pool's global queue — if other work waits for a pool thread (else nobody would get
            // the turn: one loop alone ran at 1.76 cores, hopping threads, 0.98x RandomAccess).
            if (++s_inlineRun > InlineRun)
            {
                s_inlineRun = 0;
                // Only a pool thread gives anything up by yielding (and only it should: a queued work
                // item from another thread may allocate the queue's next segment on that thread).
                if (AlwaysYieldsForTests || (Thread.CurrentThread.IsThreadPoolThread && System.Threading.ThreadPool.PendingWorkItemCount != 0))
                {
                    outcome = CachedRead.Yields;
                    return false;
                }
            }

            Interop.iovec one = new() { iov_base = buffer, iov_len = (nuint)length };
            long started = KaioMetrics.SubmitTimestamp();
            long res = Interop.ToRes(Interop.preadv2(fd, &one, 1, fileOffset, Interop.RWF_NOWAIT));
            if (res != length)
            {
                outcome = CachedRead.Missed;
                if (res == -Errno.EOPNOTSUPP)
                {
                    info.RefusesNoWait = true;
                }

                if (_inlineMisses < MissesBeforeBackoff)
                {
                    _inlineMisses++;
                }

                return false;
            }

            if (_inlineMisses != 0)
            {
                _inlineMisses = 0;
            }

            read = length;
            KaioMetrics.OnCompletedInline(_engineName, IocbCommand.Pread, length, started);
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false; // closed meanwhile: the usual path refuses it
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Resets this thread's run of inline completions (tests).</summary>
    internal static void ResetInlineRun() => s_inlineRun = 0;

    /// <summary>Tests: the end of a run yields on any thread, even when no other work waits (a context's setting, so that it never outlives the test).</summary>
    internal bool AlwaysYieldsForTests { get; set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe bool TryReadCached(SafeFileHandle handle, Span<byte> buffer, long fileOffset, out int read, out CachedRead outcome)
    {
        fixed (byte* p = &MemoryMarshal.GetReference(buffer))
        {
            return TryReadCached(handle, p, buffer.Length, fileOffset, out read, out outcome);
        }
    }
}

/// <summary>What the core's inline attempt (AioContext.CachedRead.cs) made of a read that goes on to the engine.</summary>
internal enum CachedRead : byte
{
    /// <summary>Not tried (not a candidate, backing off, a Submit request): the engine may try it.</summary>
    NotTried,
    /// <summary>Tried and not wholly cached: an engine should not try the same NOWAIT read again.</summary>
    Missed,
    /// <summary>Not tried because it ends a run of inline completions: it yields (RequestSlot.Yields).</summary>
    Yields,
}
