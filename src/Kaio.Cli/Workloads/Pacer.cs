// Design: when a job thread may issue its next request, by fio's rate options (HOWTO "I/O rate"):
// `rate` caps bytes per second and `rate_iops` requests per second, each per direction (reads,
// writes); `rate_process=poisson` spaces requests by exponential gaps of the same mean instead of
// evenly; `thinktime` leaves at least this long between one request and the next (fio waits after
// the completion; kaio after the issue, the same at iodepth=1 on fast storage); `ratemin` and
// `rate_iops_min` fail the job when, measured over at least a second (fio's ratecycle) at the
// moment a request is issued, it moved less. The clock starts at the thread's first request.
// Thread-safety: one owner at a time, as the offset source that holds it.
using System.Diagnostics;
using System.Globalization;
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>fio's rate limits and thinktime for one job thread.</summary>
internal sealed class Pacer
{
    private static readonly long s_cycle = Stopwatch.Frequency; // fio's ratecycle: 1000 ms

    private readonly RateLimits _limits;
    private readonly Func<double> _uniform01;
    private readonly long[] _bytes = new long[2];
    private readonly long[] _ios = new long[2];
    private readonly long[] _poissonDue = new long[2];
    private long _start = -1;
    private long _lastIssue = long.MinValue;
    private long _cycleStart;
    private readonly long[] _cycleBytes = new long[2];
    private readonly long[] _cycleIos = new long[2];

    public Pacer(RateLimits limits, Func<double> uniform01)
    {
        _limits = limits;
        _uniform01 = uniform01;
    }

    /// <summary>Whether any limit applies.</summary>
    public static bool Applies(RateLimits limits) => limits.Any;

    /// <summary>
    /// The Stopwatch time at which a request of <paramref name="length"/> bytes in its direction
    /// may be issued, counting it as issued then.
    /// </summary>
    public long Due(bool isWrite, int length, long now)
    {
        if (_start < 0)
        {
            _start = now;
            _cycleStart = now;
        }

        int d = isWrite ? 1 : 0;
        long due = now;
        if (_limits.Bytes[d] > 0)
        {
            due = Math.Max(due, _start + (long)(_bytes[d] * (double)Stopwatch.Frequency / _limits.Bytes[d]));
        }

        if (_limits.Iops[d] > 0)
        {
            if (_limits.Poisson)
            {
                // Exponential gaps with the mean 1/iops: a Poisson process of arrivals.
                double gap = -Math.Log(1.0 - _uniform01()) / _limits.Iops[d];
                _poissonDue[d] = Math.Max(_poissonDue[d], _start) + (long)(gap * Stopwatch.Frequency);
                due = Math.Max(due, _poissonDue[d]);
            }
            else
            {
                due = Math.Max(due, _start + (long)(_ios[d] * (double)Stopwatch.Frequency / _limits.Iops[d]));
            }
        }

        if (_limits.ThinkTime > TimeSpan.Zero && _lastIssue != long.MinValue)
        {
            due = Math.Max(due, _lastIssue + (long)(_limits.ThinkTime.TotalSeconds * Stopwatch.Frequency));
        }

        _bytes[d] += length;
        _ios[d]++;
        return due;
    }

    /// <summary>
    /// When the next request of a direction could go, by its own rate limits alone (nothing is
    /// counted): a mixed job whose drawn direction must wait takes the other one if it need not,
    /// as fio's rate_ddir() does.
    /// </summary>
    public long Peek(bool isWrite, long now)
    {
        if (_start < 0)
        {
            return now;
        }

        int d = isWrite ? 1 : 0;
        long due = now;
        if (_limits.Bytes[d] > 0)
        {
            due = Math.Max(due, _start + (long)(_bytes[d] * (double)Stopwatch.Frequency / _limits.Bytes[d]));
        }

        if (_limits.Iops[d] > 0)
        {
            due = Math.Max(due, _limits.Poisson ? _poissonDue[d] : _start + (long)(_ios[d] * (double)Stopwatch.Frequency / _limits.Iops[d]));
        }

        return due;
    }

    /// <summary>
    /// Counts a request issued at <paramref name="now"/>; returns why the job fails ratemin or
    /// rate_iops_min over the cycle that ended, or null.
    /// </summary>
    public string? Issued(bool isWrite, int length, long now)
    {
        int d = isWrite ? 1 : 0;
        _lastIssue = now; // thinktime counts from when the request really went, like fio's from its completion
        _cycleBytes[d] += length;
        _cycleIos[d]++;
        long spent = now - _cycleStart;
        if (spent < s_cycle)
        {
            return null;
        }

        double seconds = spent / (double)Stopwatch.Frequency;
        string? failure = null;
        for (int i = 0; i < 2 && failure is null; i++)
        {
            string direction = i == 0 ? "read" : "write";
            if (_limits.MinBytes[i] > 0 && _cycleBytes[i] / seconds < _limits.MinBytes[i])
            {
                failure = string.Create(CultureInfo.InvariantCulture, $"{direction} bandwidth {_cycleBytes[i] / seconds:0} B/s over {seconds:0.0} s is below ratemin={_limits.MinBytes[i]}");
            }
            else if (_limits.MinIops[i] > 0 && _cycleIos[i] / seconds < _limits.MinIops[i])
            {
                failure = string.Create(CultureInfo.InvariantCulture, $"{direction} rate {_cycleIos[i] / seconds:0.0} IOPS over {seconds:0.0} s is below rate_iops_min={_limits.MinIops[i]}");
            }
        }

        _cycleStart = now;
        Array.Clear(_cycleBytes);
        Array.Clear(_cycleIos);
        return failure;
    }
}
