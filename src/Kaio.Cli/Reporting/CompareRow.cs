using Kaio.Cli.Workloads;

namespace Kaio.Cli.Reporting;

/// <summary>One engine's line of <c>kaio bench --compare</c>, with ratios against the RandomAccess baseline.</summary>
internal sealed record CompareRow(
    string Engine,
    string Reason,
    bool IsBaseline,
    double Iops,
    long BandwidthKiB,
    long P50,
    long P99,
    long P999,
    double? IopsRatio,
    double? P99Ratio,
    string? Error,
    bool NotRun = false)
{
    /// <summary>Rows for compared results; the baseline is the result whose job ran on RandomAccess.</summary>
    public static List<CompareRow> From(IReadOnlyList<JobResult> results)
    {
        JobResult? baseline = results.FirstOrDefault(r => r.Job.IoEngine.IsBaseline && !r.Failed);
        (double baseIops, _, _, long baseP99, _) = baseline is null ? default : Measure(baseline);
        var rows = new List<CompareRow>();
        foreach (JobResult result in results)
        {
            (double iops, long kib, long p50, long p99, long p999) = Measure(result);
            bool isBaseline = ReferenceEquals(result, baseline);
            rows.Add(new CompareRow(
                result.Engine,
                result.EngineReason,
                isBaseline,
                iops,
                kib,
                p50,
                p99,
                p999,
                !result.Failed && !result.NotRun && baseIops > 0 ? iops / baseIops : null,
                !result.Failed && !result.NotRun && baseP99 > 0 && p99 > 0 ? (double)p99 / baseP99 : null,
                result.FailureMessage,
                result.NotRun));
        }

        return rows;
    }

    private static (double Iops, long KiB, long P50, long P99, long P999) Measure(JobResult result)
    {
        double seconds = result.Stats.Runtime.TotalSeconds;
        DirectionStats read = result.Stats.Read;
        DirectionStats write = result.Stats.Write;
        DirectionStats trim = result.Stats.Trim;
        long ios = read.Ios + write.Ios + trim.Ios;
        long bytes = read.Bytes + write.Bytes + trim.Bytes;
        var clat = new LatencyHistogram();
        clat.Merge(read.Clat);
        clat.Merge(write.Clat);
        clat.Merge(trim.Clat);
        return seconds > 0
            ? (ios / seconds, (long)(bytes / seconds / 1024), clat.Percentile(50), clat.Percentile(99), clat.Percentile(99.9))
            : (0, 0, 0, 0, 0);
    }
}
