// Design: the human report (fio's "normal" output, as a table): per job and direction IOPS,
// MiB/s and completion latency min/avg/p50/p90/p99/p99.9/max, then the engine each job ran on
// and why it was chosen. Latencies print in the unit that keeps three significant digits.
using System.Globalization;
using Kaio.Cli.Workloads;
using Spectre.Console;

namespace Kaio.Cli.Reporting;

/// <summary>Writes results as Spectre.Console tables.</summary>
internal static class NormalReport
{
    public static void WriteResults(IAnsiConsole console, IReadOnlyList<JobResult> results)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("job");
        table.AddColumn("engine");
        table.AddColumn("dir");
        foreach (string column in new[] { "IOPS", "MiB/s", "clat min", "avg", "p50", "p90", "p99", "p99.9", "max" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (JobResult result in results)
        {
            bool any = false;
            foreach ((string dir, DirectionStats stats) in new[] { ("read", result.Stats.Read), ("write", result.Stats.Write), ("trim", result.Stats.Trim) })
            {
                if (stats.Ios == 0)
                {
                    continue;
                }

                any = true;
                double seconds = result.Stats.Runtime.TotalSeconds;
                LatencyHistogram clat = stats.Clat;
                table.AddRow(
                    Markup.Escape(result.Name),
                    Markup.Escape(result.Engine),
                    dir,
                    FormatCount(seconds > 0 ? stats.Ios / seconds : 0),
                    (seconds > 0 ? stats.Bytes / seconds / (1024 * 1024) : 0).ToString("0.0", CultureInfo.InvariantCulture),
                    FormatLatency(clat.Min),
                    FormatLatency((long)clat.Mean),
                    FormatLatency(clat.Percentile(50)),
                    FormatLatency(clat.Percentile(90)),
                    FormatLatency(clat.Percentile(99)),
                    FormatLatency(clat.Percentile(99.9)),
                    FormatLatency(clat.Max));
            }

            if (result.Stats.Sync.Count > 0)
            {
                LatencyHistogram sync = result.Stats.Sync;
                table.AddRow(
                    Markup.Escape(result.Name),
                    Markup.Escape(result.Engine),
                    "sync",
                    sync.Count.ToString(CultureInfo.InvariantCulture) + " ops",
                    "",
                    FormatLatency(sync.Min),
                    FormatLatency((long)sync.Mean),
                    FormatLatency(sync.Percentile(50)),
                    FormatLatency(sync.Percentile(90)),
                    FormatLatency(sync.Percentile(99)),
                    FormatLatency(sync.Percentile(99.9)),
                    FormatLatency(sync.Max));
            }

            if (!any && result.Stats.Sync.Count == 0)
            {
                table.AddRow(Markup.Escape(result.Name), Markup.Escape(result.Engine), result.Failed ? "[red]failed[/]" : result.NotRun ? "[grey]not run[/]" : "-", "0", "0.0", "", "", "", "", "", "", "");
            }
        }

        console.Write(table);
        WritePriorities(console, results);
        WriteSamples(console, results);
        WriteEngines(console, results.Select(r => (r.Engine, r.EngineReason)));
    }

    /// <summary>fio's per-priority latency lines (cmdprio_*): each priority's class/level, share and completion latencies (total with lat_percentiles).</summary>
    private static void WritePriorities(IAnsiConsole console, IReadOnlyList<JobResult> results)
    {
        foreach (JobResult result in results)
        {
            string kind = result.Job.LatPercentiles ? "lat" : "clat";
            foreach ((string dir, DirectionStats stats) in new[] { ("read", result.Stats.Read), ("write", result.Stats.Write) })
            {
                if (stats.ByPriority is not { Count: >= 2 } byPriority)
                {
                    continue;
                }

                foreach ((ushort priority, LatencyHistogram latency) in byPriority)
                {
                    console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{result.Name} {dir}: prio {priority >> IoPriority.ClassShift}/{priority & IoPriority.LevelMask}{(Jobs.IoPriorities.HintOf(priority) != 0 ? "/" + Jobs.IoPriorities.HintOf(priority).ToString(CultureInfo.InvariantCulture) : "")}: {latency.Count} I/Os ({latency.Count * 100.0 / Math.Max(1, stats.Ios):0.0}%), {kind} avg={FormatLatency((long)latency.Mean)}, p50={FormatLatency(latency.Percentile(50))}, p99={FormatLatency(latency.Percentile(99))}, max={FormatLatency(latency.Max)}")));
                }
            }
        }
    }

    /// <summary>fio's "bw (KiB/s): min=…, max=…, per=…, avg=…, stdev=…, samples=…" and "iops: …" lines, from the 500 ms samples.</summary>
    private static void WriteSamples(IAnsiConsole console, IReadOnlyList<JobResult> results)
    {
        foreach (JobResult result in results)
        {
            var group = results.Where(r => r.GroupId == result.GroupId).ToList();
            double seconds = group.Max(r => r.Stats.Runtime.TotalSeconds);
            foreach ((string dir, DirectionStats stats, long groupBytes) in new[] { ("read", result.Stats.Read, group.Sum(r => r.Stats.Read.Bytes)), ("write", result.Stats.Write, group.Sum(r => r.Stats.Write.Bytes)) })
            {
                LatencyMoments bw = stats.BwSamples;
                LatencyMoments iops = stats.IopsSamples;
                if (bw.Count == 0)
                {
                    continue;
                }

                double aggregateKiB = seconds > 0 ? groupBytes / seconds / 1024 : 0;
                double per = aggregateKiB > 1 ? Math.Min(100, (long)bw.Mean * 100 / aggregateKiB) : 100;
                console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                    $"{result.Name} {dir}: bw (KiB/s): min={bw.Min}, max={bw.Max}, per={per:0.00}%, avg={bw.Mean:0.00}, stdev={bw.StdDev:0.00}, samples={bw.Count}")));
                console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                    $"{result.Name} {dir}: iops:        min={iops.Min}, max={iops.Max}, avg={iops.Mean:0.00}, stdev={iops.StdDev:0.00}, samples={iops.Count}")));
            }
        }
    }

    public static void WriteCompare(IAnsiConsole console, IReadOnlyList<CompareRow> rows)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("kaio bench --compare");
        table.AddColumn("engine");
        foreach (string column in new[] { "IOPS", "MiB/s", "clat p50", "p99", "p99.9", "IOPS vs RandomAccess", "p99 vs RandomAccess" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (CompareRow row in rows)
        {
            if (row.Error is not null || row.NotRun)
            {
                table.AddRow(Markup.Escape(row.Engine), row.NotRun ? "[grey]not run[/]" : "[red]failed[/]", "", "", "", "", "", "");
                continue;
            }

            table.AddRow(
                Markup.Escape(row.Engine) + (row.IsBaseline ? " (baseline)" : ""),
                FormatCount(row.Iops),
                (row.BandwidthKiB / 1024.0).ToString("0.0", CultureInfo.InvariantCulture),
                FormatLatency(row.P50),
                FormatLatency(row.P99),
                FormatLatency(row.P999),
                row.IopsRatio is { } iops ? FormatRatio(iops) : "-",
                row.P99Ratio is { } p99 ? FormatRatio(p99) : "-");
        }

        console.Write(table);
        WriteEngines(console, rows.Select(r => (r.Engine, r.Reason)));
    }

    /// <summary>--repeat: each figure's mean ± σ and range over the runs (hyperfine's way).</summary>
    public static void WriteRepeat(IAnsiConsole console, IReadOnlyList<RepeatRow> rows, int runs)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(string.Create(CultureInfo.InvariantCulture, $"{runs} runs"));
        table.AddColumn("job");
        table.AddColumn("dir");
        table.AddColumn("figure");
        foreach (string column in new[] { "mean", "± σ", "min", "max" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (RepeatRow row in rows)
        {
            table.AddRow(Markup.Escape(row.Job), row.Direction, Markup.Escape(row.Figure), Figure(row.Mean), Figure(row.StdDev), Figure(row.Min), Figure(row.Max));
        }

        console.Write(table);
    }

    /// <summary>kaio compare: the jobs of two saved reports side by side (matched by job name and direction, else by position), with B/A ratios.</summary>
    public static void WriteSavedComparison(IAnsiConsole console, SavedReport a, SavedReport b)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"A = {Markup.Escape(a.Path)}, B = {Markup.Escape(b.Path)}");
        table.AddColumn("job");
        table.AddColumn("dir");
        table.AddColumn("figure");
        foreach (string column in new[] { "A", "B", "B/A" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        int matched = 0;
        for (int i = 0; i < a.Directions.Count; i++)
        {
            SavedDirection x = a.Directions[i];
            SavedDirection? y = b.Directions.FirstOrDefault(d => d.Job == x.Job && d.Direction == x.Direction)
                ?? (i < b.Directions.Count && b.Directions[i].Direction == x.Direction ? b.Directions[i] : null);
            if (y is null)
            {
                continue;
            }

            matched++;
            string job = x.Job == y.Job ? x.Job : x.Job + " / " + y.Job;
            void Row(string figure, double first, double second, Func<double, string> format)
                => table.AddRow(Markup.Escape(job), x.Direction, figure, format(first), format(second), first > 0 ? FormatRatio(second / first) : "-");
            Row("IOPS", x.Iops, y.Iops, FormatCount);
            Row("MiB/s", x.BandwidthKiB / 1024, y.BandwidthKiB / 1024, v => v.ToString("0.0", CultureInfo.InvariantCulture));
            Row("clat mean", x.ClatMeanNs, y.ClatMeanNs, v => FormatLatency((long)v));
            foreach (double percentile in new[] { 50, 99, 99.9 })
            {
                if (x.At(percentile) is { } p && y.At(percentile) is { } q)
                {
                    Row("clat p" + percentile.ToString(CultureInfo.InvariantCulture), p, q, v => FormatLatency((long)v));
                }
            }

            Row("lat mean", x.LatMeanNs, y.LatMeanNs, v => FormatLatency((long)v));
        }

        console.Write(table);
        if (matched == 0)
        {
            console.MarkupLine("[yellow]no job of A has a match in B (by name and direction, or position)[/]");
        }
    }

    private static string Figure(double value) => value switch
    {
        >= 1000 => value.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };

    private static void WriteEngines(IAnsiConsole console, IEnumerable<(string Engine, string Reason)> engines)
    {
        foreach (var (engine, reason) in engines.Distinct())
        {
            if (reason.Length > 0)
            {
                console.MarkupLine($"[bold]engine {Markup.Escape(engine)}[/]: {Markup.Escape(reason)}");
            }
        }
    }

    /// <summary>1.00x, 14.2x, 0.0037x: small ratios keep two significant digits instead of rounding to 0.00x.</summary>
    public static string FormatRatio(double ratio) => ratio switch
    {
        >= 100 => ratio.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => ratio.ToString("0.0", CultureInfo.InvariantCulture),
        >= 0.1 => ratio.ToString("0.00", CultureInfo.InvariantCulture),
        _ => ratio.ToString("0.0000", CultureInfo.InvariantCulture),
    } + "x";

    /// <summary>123, 12.3k, 1.23M.</summary>
    public static string FormatCount(double value) => value switch
    {
        >= 10_000_000 => (value / 1_000_000).ToString("0.0", CultureInfo.InvariantCulture) + "M",
        >= 1_000_000 => (value / 1_000_000).ToString("0.00", CultureInfo.InvariantCulture) + "M",
        >= 100_000 => (value / 1_000).ToString("0", CultureInfo.InvariantCulture) + "k",
        >= 10_000 => (value / 1_000).ToString("0.0", CultureInfo.InvariantCulture) + "k",
        _ => value.ToString("0", CultureInfo.InvariantCulture),
    };

    /// <summary>A latency in ns printed with three significant digits: 850ns, 12.3µs, 4.56ms, 1.20s.</summary>
    public static string FormatLatency(long nanoseconds) => nanoseconds switch
    {
        < 1_000 => nanoseconds.ToString(CultureInfo.InvariantCulture) + "ns",
        < 1_000_000 => ThreeDigits(nanoseconds / 1e3) + "µs",
        < 1_000_000_000 => ThreeDigits(nanoseconds / 1e6) + "ms",
        _ => ThreeDigits(nanoseconds / 1e9) + "s",
    };

    private static string ThreeDigits(double value) => value switch
    {
        >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };
}
