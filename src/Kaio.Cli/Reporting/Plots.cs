// Design: the pictures (issue 13 §4), drawn with ScottPlot 5 as PNG files:
//  - IOPS and bandwidth over time, a line per job and direction: from a run's interval samples
//    (`kaio bench --plot=DIR`) or from fio-format logs (`kaio plot x_iops.1.log x_bw.1.log`);
//  - the latency percentile curve, a line per job and direction (per engine of a --compare,
//    whose jobs are named job@engine): latency against percentile on fio's "nines" scale, x =
//    -log10(1 - p/100) so p50, p90, p99, p99.9 and p99.99 are evenly spaced, and latency on a
//    log scale; from a run or from saved JSON reports (kaio's or fio's), several reports side by
//    side on one chart, each line named by its file.
// Everything here runs after the jobs, on the main thread.
using System.Globalization;
using Kaio.Cli.Workloads;
using ScottPlot;

namespace Kaio.Cli.Reporting;

/// <summary>Writes PNG pictures of runs and saved reports.</summary>
internal static class Plots
{
    public const int Width = 900;
    public const int Height = 540;

    /// <summary>The percentiles a run's curve is drawn through.</summary>
    private static readonly double[] s_curve = [50, 60, 70, 75, 80, 85, 90, 92.5, 95, 97, 98, 99, 99.5, 99.7, 99.8, 99.9, 99.95, 99.97, 99.99];

    private static readonly double[] s_nines = [50, 90, 99, 99.9, 99.99];

    /// <summary>A line of a chart: its name and points.</summary>
    internal sealed record Series(string Name, double[] X, double[] Y);

    /// <summary>`kaio bench --plot=DIR`: iops.png and bw.png over time, latency.png; returns the files written.</summary>
    public static List<string> ForRun(string directory, IReadOnlyList<JobResult> results, bool compare)
    {
        Directory.CreateDirectory(directory);
        var iops = new List<Series>();
        var bandwidth = new List<Series>();
        var latency = new List<Series>();
        foreach (JobResult result in results.Where(r => !r.NotRun))
        {
            string name = compare ? result.Engine : result.Name;
            (string, int, DirectionStats)[] directions = [("read", 0, result.Stats.Read), ("write", 1, result.Stats.Write), ("trim", 2, result.Stats.Trim)];
            foreach ((string dir, int direction, DirectionStats stats) in directions)
            {
                if (stats.Ios == 0)
                {
                    continue;
                }

                string label = directions.Count(d => d.Item3.Ios > 0) > 1 ? name + " " + dir : name;

                // The threads' samples summed per interval (they are taken together, every 500 ms).
                var byInterval = result.RateSamples.SelectMany(s => s).Where(s => s.Direction == direction)
                    .GroupBy(s => (long)Math.Round(s.Msec / (double)IntervalSampler.IntervalMsec))
                    .OrderBy(g => g.Key)
                    .Select(g => (Seconds: g.Key * IntervalSampler.IntervalMsec / 1000.0, Iops: g.Sum(s => s.Iops), KiB: g.Sum(s => s.KiBPerSecond)))
                    .ToList();
                if (byInterval.Count > 0)
                {
                    iops.Add(new Series(label, [.. byInterval.Select(s => s.Seconds)], [.. byInterval.Select(s => (double)s.Iops)]));
                    bandwidth.Add(new Series(label, [.. byInterval.Select(s => s.Seconds)], [.. byInterval.Select(s => s.KiB / 1024.0)]));
                }

                latency.Add(new Series(label, [.. s_curve], [.. s_curve.Select(p => (double)stats.Clat.Percentile(p))]));
            }
        }

        var written = new List<string>();
        if (iops.Count > 0)
        {
            written.Add(OverTime(Path.Combine(directory, "iops.png"), iops, "IOPS over time", "IOPS"));
            written.Add(OverTime(Path.Combine(directory, "bw.png"), bandwidth, "Bandwidth over time", "MiB/s"));
        }

        if (latency.Count > 0)
        {
            written.Add(LatencyCurve(Path.Combine(directory, "latency.png"), latency, compare ? "Completion latency by engine" : "Completion latency"));
        }

        return written;
    }

    /// <summary>`kaio plot FILES`: latency.png from the JSON reports, iops.png / bw.png from the logs; returns the files written.</summary>
    public static List<string> ForFiles(string directory, IReadOnlyList<string> files)
    {
        var latency = new List<Series>();
        var iops = new List<Series>();
        var bandwidth = new List<Series>();
        var reports = files.Where(f => !f.EndsWith(".log", StringComparison.Ordinal)).ToList();
        foreach (string file in reports)
        {
            SavedReport report = SavedReport.Load(file);

            List<string> jobs = [.. report.Directions.Select(d => d.Job)];
            foreach (SavedDirection d in report.Directions)
            {
                var points = d.Percentiles.Where(p => p.Percentile is >= 50 and < 100).ToList();
                if (points.Count > 0)
                {
                    string job = LineName(jobs, d.Job);
                    string name = (reports.Count > 1 ? Path.GetFileName(file) + ": " : "") + job + (report.Directions.Count(x => x.Job == d.Job) > 1 ? " " + d.Direction : "");
                    latency.Add(new Series(name, [.. points.Select(p => p.Percentile)], [.. points.Select(p => (double)p.Nanoseconds)]));
                }
            }
        }

        foreach (string file in files.Where(f => f.EndsWith(".log", StringComparison.Ordinal)))
        {
            if (!File.Exists(file))
            {
                throw new SavedReportException($"{file}: no such file");
            }

            string fileName = Path.GetFileName(file);
            bool isBandwidth = fileName.Contains("_bw.", StringComparison.Ordinal);
            if (!isBandwidth && !fileName.Contains("_iops.", StringComparison.Ordinal))
            {
                throw new SavedReportException($"{file}: plot draws bandwidth and IOPS logs (NAME_bw.N.log, NAME_iops.N.log)");
            }

            List<LogEntry> entries = IntervalLog.Read(file);
            foreach (int direction in entries.Select(e => e.Direction).Distinct().Order())
            {
                var points = entries.Where(e => e.Direction == direction).ToList();
                string name = fileName + (direction == 0 ? " read" : direction == 1 ? " write" : " trim");
                (isBandwidth ? bandwidth : iops).Add(new Series(name, [.. points.Select(p => p.Msec / 1000.0)], [.. points.Select(p => isBandwidth ? p.Value / 1024.0 : p.Value)]));
            }
        }

        if (latency.Count == 0 && iops.Count == 0 && bandwidth.Count == 0)
        {
            throw new SavedReportException("nothing to plot: no latency percentiles in the reports and no bw/iops logs");
        }

        Directory.CreateDirectory(directory);
        var written = new List<string>();
        if (latency.Count > 0)
        {
            written.Add(LatencyCurve(Path.Combine(directory, "latency.png"), latency, reports.Count > 1 ? "Completion latency: " + string.Join(" vs ", reports.Select(Path.GetFileName)) : "Completion latency"));
        }

        if (iops.Count > 0)
        {
            written.Add(OverTime(Path.Combine(directory, "iops.png"), iops, "IOPS over time", "IOPS"));
        }

        if (bandwidth.Count > 0)
        {
            written.Add(OverTime(Path.Combine(directory, "bw.png"), bandwidth, "Bandwidth over time", "MiB/s"));
        }

        return written;
    }

    /// <summary>A job's line name: the engine when the jobs are one --compare's (JOB@ENGINE, one JOB), else the job's name.</summary>
    internal static string LineName(IReadOnlyList<string> jobs, string job)
    {
        static string? Prefix(string name) => name.IndexOf('@', StringComparison.Ordinal) is > 0 and int at ? name[..at] : null;
        bool byEngine = jobs.Distinct().Count() > 1 && jobs.All(j => Prefix(j) is not null) && jobs.Select(Prefix).Distinct().Count() == 1;
        return byEngine ? job[(job.IndexOf('@', StringComparison.Ordinal) + 1)..] : job;
    }

    /// <summary>A line per series over time in seconds.</summary>
    internal static string OverTime(string path, IReadOnlyList<Series> series, string title, string unit)
    {
        var plot = new Plot();
        foreach (Series s in series)
        {
            var line = plot.Add.Scatter(s.X, s.Y);
            line.LegendText = s.Name;
            line.LineWidth = 2;
            line.MarkerSize = s.X.Length > 60 ? 0 : 5;
        }

        plot.Title(title);
        plot.XLabel("time (s)");
        plot.YLabel(unit);
        double last = series.SelectMany(s => s.X).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimits(0, Math.Max(last * 1.05, 0.6), 0, Math.Max(1, series.SelectMany(s => s.Y).DefaultIfEmpty(1).Max() * 1.1));
        ShowLegend(plot, series.Count);
        plot.SavePng(path, Width, Height);
        return path;
    }

    /// <summary>Latency (log scale) against percentile on the nines scale, a line per series.</summary>
    internal static string LatencyCurve(string path, IReadOnlyList<Series> series, string title)
    {
        var plot = new Plot();
        double lowest = double.MaxValue;
        double highest = 0;
        foreach (Series s in series)
        {
            double[] x = [.. s.X.Select(Nines)];
            double[] y = [.. s.Y.Select(v => Math.Log10(Math.Max(v, 1)))];
            var line = plot.Add.Scatter(x, y);
            line.LegendText = s.Name;
            line.LineWidth = 2;
            line.MarkerSize = 5;
            lowest = Math.Min(lowest, y.Min());
            highest = Math.Max(highest, y.Max());
        }

        var xTicks = new ScottPlot.TickGenerators.NumericManual();
        foreach (double p in s_nines)
        {
            xTicks.AddMajor(Nines(p), "p" + p.ToString(CultureInfo.InvariantCulture));
        }

        plot.Axes.Bottom.TickGenerator = xTicks;
        var yTicks = new ScottPlot.TickGenerators.NumericManual();
        for (int decade = (int)Math.Floor(lowest); decade <= (int)Math.Ceiling(highest); decade++)
        {
            foreach (int step in new[] { 1, 2, 5 })
            {
                double at = decade + Math.Log10(step);
                if (at >= lowest - 0.3 && at <= highest + 0.3)
                {
                    yTicks.AddMajor(at, NormalReport.FormatLatency((long)Math.Round(Math.Pow(10, at))));
                }
            }
        }

        plot.Axes.Left.TickGenerator = yTicks;
        plot.Axes.SetLimits(Nines(45), Nines(99.995), lowest - 0.15, highest + 0.15);
        plot.Title(title);
        plot.XLabel("percentile");
        plot.YLabel("latency");
        ShowLegend(plot, series.Count);
        plot.SavePng(path, Width, Height);
        return path;
    }

    /// <summary>A few lines: the legend inside; more (a --compare's engines): beside the chart, where it hides no line.</summary>
    private static void ShowLegend(Plot plot, int lines)
    {
        if (lines > 3)
        {
            plot.ShowLegend(Edge.Right);
        }
        else
        {
            plot.ShowLegend(Alignment.UpperLeft);
        }
    }

    /// <summary>fio's nines scale: p50 → 0.3, p90 → 1, p99 → 2, p99.9 → 3.</summary>
    private static double Nines(double percentile) => -Math.Log10(1 - (Math.Min(percentile, 99.9999) / 100));
}
