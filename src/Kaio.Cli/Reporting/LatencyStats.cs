// Design: latency and throughput accounting, fio's way (stat.h: struct io_stat and the
// io_u_plat histogram). Each job thread owns its recorders and writes them alone; the runner
// merges them after the threads are joined, so there is no sharing on the hot path. Min and
// max are exact; mean and standard deviation come from exact sums; percentiles come from an
// HdrHistogram with three significant digits (0.1 %), finer than fio's own buckets.
using HdrHistogram;
using HdrHistogram.Iteration;

namespace Kaio.Cli.Reporting;

/// <summary>Count, min, max, mean and standard deviation of latencies in nanoseconds.</summary>
internal class LatencyMoments
{
    private double _sum;
    private double _sumOfSquares;

    public long Count { get; private set; }

    public long Min { get; private set; } = long.MaxValue;

    public long Max { get; private set; }

    public double Mean => Count == 0 ? 0 : _sum / Count;

    public double StdDev
    {
        get
        {
            if (Count < 2)
            {
                return 0;
            }

            double mean = Mean;
            double variance = (_sumOfSquares - (Count * mean * mean)) / (Count - 1);
            return variance > 0 ? Math.Sqrt(variance) : 0;
        }
    }

    public virtual void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }

        Count++;
        _sum += nanoseconds;
        _sumOfSquares += (double)nanoseconds * nanoseconds;
        if (nanoseconds < Min)
        {
            Min = nanoseconds;
        }

        if (nanoseconds > Max)
        {
            Max = nanoseconds;
        }
    }

    public virtual void Merge(LatencyMoments other)
    {
        if (other.Count == 0)
        {
            return;
        }

        Count += other.Count;
        _sum += other._sum;
        _sumOfSquares += other._sumOfSquares;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
    }
}

/// <summary><see cref="LatencyMoments"/> plus percentiles.</summary>
internal sealed class LatencyHistogram : LatencyMoments
{
    /// <summary>Latencies above this (100 s) are recorded as this.</summary>
    public const long HighestTrackable = 100_000_000_000;

    /// <summary>fio's default <c>percentile_list</c>.</summary>
    public static readonly double[] FioPercentiles = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99];

    private LongHistogram? _histogram;

    public override void Record(long nanoseconds)
    {
        base.Record(nanoseconds);
        _histogram ??= new LongHistogram(HighestTrackable, 3);
        _histogram.RecordValue(Math.Clamp(nanoseconds, 0, HighestTrackable));
    }

    public override void Merge(LatencyMoments other)
    {
        base.Merge(other);
        if (other is LatencyHistogram { _histogram: { } histogram })
        {
            _histogram ??= new LongHistogram(HighestTrackable, 3);
            _histogram.Add(histogram);
        }
    }

    /// <summary>How many recorded latencies fall in [<paramref name="low"/>, <paramref name="high"/>) nanoseconds (within the histogram's 0.1 %).</summary>
    public long CountBetween(long low, long high)
    {
        if (_histogram is null)
        {
            return 0;
        }

        long count = 0;
        foreach (HistogramIterationValue value in _histogram.RecordedValues())
        {
            if (value.ValueIteratedTo >= low && value.ValueIteratedTo < high)
            {
                count += value.CountAtValueIteratedTo;
            }
        }

        return count;
    }

    /// <summary>
    /// fio's json+ "bins": the recorded latencies counted in fio's histogram buckets (stat.h
    /// io_u_plat: 64 buckets per power of two above 128 ns), keyed by the bucket's middle value
    /// in nanoseconds as fio keys them, in increasing order. Built from this histogram's finer
    /// buckets (0.1 %), each counted in the fio bucket its value falls in.
    /// </summary>
    public SortedDictionary<long, long> FioBins()
    {
        var bins = new SortedDictionary<long, long>();
        if (_histogram is null)
        {
            return bins;
        }

        foreach (HistogramIterationValue value in _histogram.RecordedValues())
        {
            long key = FioPlat.BucketValue(FioPlat.BucketIndex(_histogram.MedianEquivalentValue(value.ValueIteratedTo)));
            bins[key] = bins.GetValueOrDefault(key) + value.CountAtValueIteratedTo;
        }

        return bins;
    }

    /// <summary>The latency at <paramref name="percentile"/> (0–100), in nanoseconds; exact at 0 and 100.</summary>
    public long Percentile(double percentile)
    {
        if (_histogram is null || Count == 0)
        {
            return 0;
        }

        if (percentile <= 0)
        {
            return Min;
        }

        if (percentile >= 100)
        {
            return Max;
        }

        return Math.Clamp(_histogram.GetValueAtPercentile(percentile), Min, Max);
    }
}

/// <summary>One direction's totals (fio's <c>read</c> or <c>write</c> object).</summary>
internal sealed class DirectionStats
{
    public long Ios { get; set; }

    public long Bytes { get; set; }

    /// <summary>Submission latency: from preparing the request to the submit call's return.</summary>
    public LatencyMoments Slat { get; } = new();

    /// <summary>Completion latency: from submission to the completion being reaped.</summary>
    public LatencyHistogram Clat { get; } = new();

    /// <summary>Total latency: slat + clat (a histogram too: fio's latency_ns/us/ms buckets count it).</summary>
    public LatencyHistogram Lat { get; } = new();

    /// <summary>
    /// fio's bw samples: the direction's KiB/s over each sampling interval (500 ms, fio's
    /// bw_avg_time), an interval with no I/O of this direction skipped as fio skips it; numjobs
    /// threads' samples pooled, as fio pools them when it sums threads. bw_min/max/mean/dev/samples.
    /// </summary>
    public LatencyMoments BwSamples { get; } = new();

    /// <summary>fio's iops samples: I/Os per second over each sampling interval, like <see cref="BwSamples"/>.</summary>
    public LatencyMoments IopsSamples { get; } = new();

    public void Record(int bytes, long slatNs, long clatNs)
    {
        Ios++;
        Bytes += bytes;
        Slat.Record(slatNs);
        Clat.Record(clatNs);
        Lat.Record(slatNs + clatNs);
    }

    /// <summary>
    /// fio's <c>prios</c>: the completion latency (total latency with lat_percentiles) of each
    /// priority value, kept when a job gives its requests different priorities (cmdprio_*); null otherwise.
    /// </summary>
    public SortedDictionary<ushort, LatencyHistogram>? ByPriority { get; private set; }

    /// <summary>Records one request's latency under its priority value.</summary>
    public void RecordPriority(ushort priority, long latencyNs)
    {
        ByPriority ??= [];
        if (!ByPriority.TryGetValue(priority, out LatencyHistogram? histogram))
        {
            histogram = new LatencyHistogram();
            ByPriority.Add(priority, histogram);
        }

        histogram.Record(latencyNs);
    }

    public void Merge(DirectionStats other)
    {
        if (other.ByPriority is not null)
        {
            foreach ((ushort priority, LatencyHistogram histogram) in other.ByPriority)
            {
                ByPriority ??= [];
                if (!ByPriority.TryGetValue(priority, out LatencyHistogram? mine))
                {
                    mine = new LatencyHistogram();
                    ByPriority.Add(priority, mine);
                }

                mine.Merge(histogram);
            }
        }

        Ios += other.Ios;
        Bytes += other.Bytes;
        Slat.Merge(other.Slat);
        Clat.Merge(other.Clat);
        Lat.Merge(other.Lat);
        BwSamples.Merge(other.BwSamples);
        IopsSamples.Merge(other.IopsSamples);
    }
}

/// <summary>What one job thread (or, merged, a job or group) did.</summary>
internal sealed class ThreadStats
{
    public DirectionStats Read { get; } = new();

    public DirectionStats Write { get; } = new();

    /// <summary>Trims (rw=trim, randtrim: punched holes).</summary>
    public DirectionStats Trim { get; } = new();

    /// <summary>fsync / fdatasync requests (fio's <c>sync</c> object).</summary>
    public LatencyHistogram Sync { get; } = new();

    /// <summary>From the first submission to the last completion.</summary>
    public TimeSpan Runtime { get; set; }

    /// <summary>fio's iodepth_level keys: bucket i holds depths from the key up to the next key.</summary>
    public static readonly string[] DepthLevelKeys = ["1", "2", "4", "8", "16", "32", ">=64"];

    /// <summary>
    /// fio's iodepth_level: how many requests were in flight right after each submission, in
    /// fio's buckets (1, 2–3, 4–7, 8–15, 16–31, 32–63, 64 and more; io_u_mark_depth). The
    /// effective depth a run reached, beside the iodepth it asked for.
    /// </summary>
    public long[] DepthLevels { get; } = new long[7];

    /// <summary>The sum, over every request counted in <see cref="DepthLevels"/>, of the depth it was counted at.</summary>
    public long DepthSum { get; private set; }

    /// <summary>
    /// The mean of the depths in <see cref="DepthLevels"/>: how many requests were in flight, on
    /// average, right after each submission (0 before any). A job that keeps its iodepth full
    /// reports about its iodepth; one whose loop cannot keep up reports less.
    /// </summary>
    public double DepthMean
    {
        get
        {
            long requests = DepthLevels.Sum();
            return requests > 0 ? (double)DepthSum / requests : 0;
        }
    }

    /// <summary>Counts <paramref name="requests"/> submitted by one call after which <paramref name="inFlight"/> were outstanding.</summary>
    public void RecordDepth(int inFlight, int requests = 1)
    {
        DepthSum += (long)inFlight * requests;
        DepthLevels[inFlight switch
        {
            <= 1 => 0,
            <= 3 => 1,
            <= 7 => 2,
            <= 15 => 3,
            <= 31 => 4,
            <= 63 => 5,
            _ => 6,
        }] += requests;
    }

    /// <summary>fio's iodepth_submit / iodepth_complete keys: bucket i holds call sizes from the key before it (exclusive) up to the key.</summary>
    public static readonly string[] CallSizeKeys = ["0", "4", "8", "16", "32", "64", ">=64"];

    /// <summary>
    /// fio's iodepth_submit: how many requests each submit call carried, in fio's buckets (0,
    /// 1–4, 5–8, 9–16, 17–32, 33–64, more; io_u_mark_submit). A runner without batches (one
    /// request per call, as fio's sync engines) counts 1 per request.
    /// </summary>
    public long[] SubmitLevels { get; } = new long[7];

    /// <summary>fio's iodepth_complete: how many completions each reaping call returned, in the buckets of <see cref="SubmitLevels"/>.</summary>
    public long[] CompleteLevels { get; } = new long[7];

    /// <summary>Counts one submit call that carried <paramref name="requests"/>.</summary>
    public void RecordSubmit(int requests) => SubmitLevels[CallSizeBucket(requests)]++;

    /// <summary>Counts one reaping call that returned <paramref name="completions"/>.</summary>
    public void RecordComplete(int completions) => CompleteLevels[CallSizeBucket(completions)]++;

    private static int CallSizeBucket(int count) => count switch
    {
        <= 0 => 0,
        <= 4 => 1,
        <= 8 => 2,
        <= 16 => 3,
        <= 32 => 4,
        <= 64 => 5,
        _ => 6,
    };

    public void Merge(ThreadStats other)
    {
        Read.Merge(other.Read);
        Write.Merge(other.Write);
        Trim.Merge(other.Trim);
        Sync.Merge(other.Sync);
        for (int i = 0; i < DepthLevels.Length; i++)
        {
            DepthLevels[i] += other.DepthLevels[i];
            SubmitLevels[i] += other.SubmitLevels[i];
            CompleteLevels[i] += other.CompleteLevels[i];
        }

        DepthSum += other.DepthSum;

        if (other.Runtime > Runtime)
        {
            Runtime = other.Runtime;
        }
    }
}

/// <summary>
/// fio's latency histogram layout (stat.h, FIO_IO_U_PLAT_BITS = 6): values below 128 have a
/// bucket each; above, each power of two is cut into 64 equal buckets, so a bucket is at most
/// 1/64 (1.6 %) wide; 29 groups, the last bucket holding everything beyond.
/// </summary>
internal static class FioPlat
{
    private const int Bits = 6;
    private const int PerGroup = 1 << Bits;
    private const int Count = 29 * PerGroup;

    /// <summary>The bucket holding <paramref name="value"/>.</summary>
    public static int BucketIndex(long value)
    {
        if (value < 2 * PerGroup)
        {
            return (int)Math.Max(value, 0);
        }

        int highBit = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)value);
        int dropped = highBit - Bits;
        int index = ((dropped + 1) << Bits) + (int)((value >> dropped) & (PerGroup - 1));
        return Math.Min(index, Count - 1);
    }

    /// <summary>The middle of bucket <paramref name="index"/> (its value below 128), as fio reports it.</summary>
    public static long BucketValue(int index)
    {
        if (index < 2 * PerGroup)
        {
            return index;
        }

        int dropped = (index >> Bits) - 1;
        long low = 1L << (dropped + Bits);
        int k = index % PerGroup;
        return low + (long)((k + 0.5) * (1L << dropped));
    }
}
