// Design: fio's latency_target probe (io_u.c lat_target_*; our own code): the job starts at queue
// depth 1 and tries each depth for latency_window. A window in which at least
// latency_percentile % of the I/Os had a total latency (slat + clat) within latency_target raises
// the depth — doubling while no depth has failed, then halfway to the lowest depth that failed; a
// window that misses lowers it halfway to the highest depth that met the target, after the
// requests in flight drain. With latency_percentile=100 a single late I/O lowers the depth at
// once, and one at depth 1 fails the job, as in fio. When a success leaves the depth where it was,
// the depth is found: what is in flight drains, the job's statistics start afresh (fio's
// reset_all_stats()), it runs one more window at that depth and ends, so the report is the found
// depth's (latency_run=1: it keeps adjusting until its runtime or size ends it). Threading: the
// job thread only.
using System.Diagnostics;
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>The probed queue depth of one job thread.</summary>
internal sealed class LatencyTarget
{
    private readonly long _targetNs;
    private readonly long _windowTicks;
    private readonly double _percentile;
    private readonly int _maxDepth;
    private readonly bool _keepRunning;
    private int _low = 1;
    private int _high;
    private int _stable;
    private long _windowStart;
    private long _ios;
    private long _late;
    private bool _finalWindow;

    public LatencyTarget(JobSpec job, long now)
    {
        _targetNs = (long)job.LatencyTarget!.Value.TotalNanoseconds;
        _windowTicks = (long)(job.LatencyWindow.TotalSeconds * Stopwatch.Frequency);
        _percentile = job.LatencyPercentile;
        _maxDepth = job.IoDepth;
        _keepRunning = job.LatencyRun;
        _high = job.IoDepth;
        _windowStart = now;
    }

    /// <summary>The depth the job may keep in flight now.</summary>
    public int Depth { get; private set; } = 1;

    /// <summary>The highest depth that met the target (reported at the end).</summary>
    public int BestDepth { get; private set; }

    /// <summary>Lowered: issue nothing until what is in flight has completed (fio's io_u_quiesce()).</summary>
    public bool Draining { get; set; }

    /// <summary>The depth is found and its final window is over: the job ends.</summary>
    public bool Done { get; private set; }

    /// <summary>The depth is found: once drained, the job's statistics start afresh for the final window.</summary>
    public bool ResetPending { get; private set; }

    /// <summary>Whether to reset the statistics now (drained, final window); clears the request and starts the window.</summary>
    public bool TakeReset(long now)
    {
        if (!ResetPending || Draining)
        {
            return false;
        }

        ResetPending = false;
        NewWindow(now);
        return true;
    }

    /// <summary>One completed read or write; false when a late I/O at depth 1 fails the job (percentile 100).</summary>
    public bool Complete(long latencyNs, long now)
    {
        _ios++;
        if (latencyNs <= _targetNs)
        {
            return true;
        }

        if (_percentile < 100)
        {
            _late++;
            return true;
        }

        if (Depth == 1)
        {
            return false;
        }

        Lower(now);
        return true;
    }

    /// <summary>At the end of a window, judges it (after each reap).</summary>
    public void Check(long now)
    {
        if (Done || now - _windowStart < _windowTicks || _ios == 0)
        {
            return;
        }

        double met = (_ios - _late) * 100.0 / _ios;
        if (met >= _percentile)
        {
            Raise(now);
        }
        else if (Depth > 1)
        {
            Lower(now);
        }
        else
        {
            NewWindow(now);
        }
    }

    private void Raise(long now)
    {
        int depth = Depth;
        BestDepth = Math.Max(BestDepth, depth);
        _low = depth;
        if (depth + 1 == _high && ++_stable >= 3)
        {
            // The next depth up failed before; try it again now and then.
            _high++;
            _stable = 0;
        }

        Depth = Math.Min(_maxDepth, _high != _maxDepth ? (depth + _high) / 2 : depth * 2);
        if (!_keepRunning && Depth == depth)
        {
            Done = _finalWindow;
            if (!_finalWindow)
            {
                // fio: quiesce, reset the statistics, then one more window at this depth.
                _finalWindow = true;
                ResetPending = true;
                Draining = true;
            }
        }

        NewWindow(now);
    }

    private void Lower(long now)
    {
        _high = Depth;
        if (Depth == _low)
        {
            _low--;
        }

        Depth = Math.Max(1, (Depth + _low) / 2);
        _stable = 0;
        _finalWindow = false;
        Draining = true;
        NewWindow(now);
    }

    private void NewWindow(long now)
    {
        _windowStart = now;
        _ios = 0;
        _late = 0;
    }
}
