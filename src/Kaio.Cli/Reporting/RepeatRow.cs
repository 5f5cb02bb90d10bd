// Design: `kaio bench --repeat=N`, as hyperfine reports repeated runs: for each job, direction
// and figure (IOPS, MiB/s, clat p50 and p99, lat mean), the mean ± the sample standard deviation
// and the range over the N runs, so a difference between two setups can be told from noise.
using Kaio.Cli.Workloads;

namespace Kaio.Cli.Reporting;

/// <summary>One figure of one job and direction over the repeated runs.</summary>
internal sealed record RepeatRow(string Job, string Direction, string Figure, IReadOnlyList<double> Values)
{
    public double Mean => Values.Average();

    public double StdDev => Values.Count < 2 ? 0 : Math.Sqrt(Values.Sum(v => (v - Mean) * (v - Mean)) / (Values.Count - 1));

    public double Min => Values.Min();

    public double Max => Values.Max();

    /// <summary>The figures of each job (matched by position: every run runs the same jobs) over <paramref name="runs"/>.</summary>
    public static List<RepeatRow> From(IReadOnlyList<IReadOnlyList<JobResult>> runs)
    {
        var rows = new List<RepeatRow>();
        int jobs = runs.Min(r => r.Count);
        for (int j = 0; j < jobs; j++)
        {
            foreach ((string direction, Func<ThreadStats, DirectionStats> pick) in new (string, Func<ThreadStats, DirectionStats>)[] { ("read", s => s.Read), ("write", s => s.Write) })
            {
                if (runs.All(r => pick(r[j].Stats).Ios == 0))
                {
                    continue;
                }

                string name = runs[0][j].Name;
                rows.Add(new RepeatRow(name, direction, "IOPS", [.. runs.Select(r => Rate(r[j], pick, bytes: false))]));
                rows.Add(new RepeatRow(name, direction, "MiB/s", [.. runs.Select(r => Rate(r[j], pick, bytes: true) / (1024 * 1024))]));
                rows.Add(new RepeatRow(name, direction, "clat p50 µs", [.. runs.Select(r => pick(r[j].Stats).Clat.Percentile(50) / 1e3)]));
                rows.Add(new RepeatRow(name, direction, "clat p99 µs", [.. runs.Select(r => pick(r[j].Stats).Clat.Percentile(99) / 1e3)]));
                rows.Add(new RepeatRow(name, direction, "lat mean µs", [.. runs.Select(r => pick(r[j].Stats).Lat.Mean / 1e3)]));
            }
        }

        return rows;
    }

    private static double Rate(JobResult result, Func<ThreadStats, DirectionStats> pick, bool bytes)
    {
        double seconds = result.Stats.Runtime.TotalSeconds;
        DirectionStats stats = pick(result.Stats);
        return seconds > 0 ? (bytes ? stats.Bytes : stats.Ios) / seconds : 0;
    }
}
