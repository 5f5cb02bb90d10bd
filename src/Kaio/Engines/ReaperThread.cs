// Design: the one reaper-thread helper of the native engines (io_uring, Linux AIO). A reaper is a
// dedicated background thread that delivers completions when no caller is reaping (awaiters,
// callbacks, a GetEvents that does not wait in the engine). What every reaper needs is here once:
//  - start: a background thread with Kaio's name for it, started without the caller's
//    ExecutionContext (UnsafeStart: no AsyncLocal of whoever created the context leaks into it);
//  - fail fast: a reaper that dies leaves every request it owes undelivered and every waiter
//    hung, so anything escaping its loop, and any system call failure it cannot retry, ends the
//    process at once with Kaio's message (Fail), not as an unhandled exception on an anonymous
//    thread later;
//  - stop and join: Stop() publishes the request to leave (the loop reads IsStopping), the engine
//    wakes the thread its own way (a NOP, an eventfd kick), and Join() waits for it. Teardown never
//    runs on the reaper itself (IsCurrent lets engines assert it).
using System.Diagnostics.CodeAnalysis;

namespace Kaio.Engines;

internal sealed class ReaperThread
{
    private readonly Thread _thread;
    private readonly string _name;
    private int _stopping; // 1 once Stop was called: Volatile

    /// <summary>Creates (does not start) a reaper named <paramref name="name"/> that runs <paramref name="loop"/>.</summary>
    internal ReaperThread(string name, Action loop)
    {
        _name = name;
        _thread = new Thread(() => Run(loop)) { IsBackground = true, Name = name };
    }

    /// <summary>True once <see cref="Stop"/> was called (acquire: pairs with its release).</summary>
    internal bool IsStopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>True on the reaper thread itself.</summary>
    internal bool IsCurrent => Thread.CurrentThread == _thread;

    internal void Start() => _thread.UnsafeStart();

    /// <summary>Asks the loop to leave; the engine then wakes the thread its own way.</summary>
    internal void Stop() => Volatile.Write(ref _stopping, 1); // release: pairs with IsStopping

    internal void Join() => _thread.Join();

    /// <summary>Ends the process: a failure the reaper cannot recover from (an unexpected errno, a broken invariant).</summary>
    [DoesNotReturn]
    internal static void Fail(string what) => Environment.FailFast("Kaio: " + what);

    private void Run(Action loop)
    {
        try
        {
            loop();
        }
        catch (Exception e)
        {
            Environment.FailFast("Kaio: the " + _name + " thread failed: " + e.Message, e);
        }
    }
}
