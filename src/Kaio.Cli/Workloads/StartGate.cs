// Design: lines up the job threads of a group the way fio's run_threads() does: every thread
// sets itself up (opens its file, allocates its buffers, creates its AioContext) and arrives;
// once all have arrived the runner opens the gate and every thread starts from the same
// timestamp, so the group has one measured window (ramp, then runtime) and its IOPS are its
// I/Os over that window. Before the gate, 200 threads started one after another over seconds,
// each timed its own window, and the group's I/Os divided by one window were 15x too many.
// Threading: each job thread calls Arrive once (JobThread guarantees it) and then WaitOpen; the
// runner calls WaitAllArrived, then Open, exactly once, even when stopping, so nobody waits forever.
using System.Diagnostics;

namespace Kaio.Cli.Workloads;

/// <summary>Starts a group's job threads together.</summary>
internal sealed class StartGate : IDisposable
{
    private readonly CountdownEvent _arrived;
    private readonly ManualResetEventSlim _open = new(initialState: false);

    /// <summary>
    /// Written by the runner before it sets _open; read by job threads after their wait on _open
    /// returns (Set/Wait order the accesses: the write happens-before the reads).
    /// </summary>
    private long _start;

    public StartGate(int threads) => _arrived = new CountdownEvent(threads);

    /// <summary>A job thread is set up (or failed setting up) and will not touch its setup again.</summary>
    public void Arrive() => _arrived.Signal();

    /// <summary>Waits for every thread to arrive, or for <paramref name="stop"/>; returns whether all arrived.</summary>
    public bool WaitAllArrived(CancellationToken stop)
    {
        try
        {
            _arrived.Wait(stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Releases every thread; returns the shared start timestamp (Stopwatch ticks).</summary>
    public long Open()
    {
        _start = Stopwatch.GetTimestamp();
        _open.Set();
        return _start;
    }

    /// <summary>Waits until the runner opens the gate; returns the shared start timestamp.</summary>
    public long WaitOpen()
    {
        _open.Wait();
        return _start;
    }

    public void Dispose()
    {
        _arrived.Dispose();
        _open.Dispose();
    }
}
