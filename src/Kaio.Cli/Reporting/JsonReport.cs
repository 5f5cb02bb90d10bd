// Design: JSON shaped like fio's --output-format=json (stat.c: show_thread_status_json() and
// add_ddir_status_json()), so tools that read fio's output read kaio's: jobs[] with read/write/
// trim objects carrying io_bytes, io_kbytes, bw_bytes, bw (KiB/s), iops, runtime (ms), total_ios,
// slat_ns / clat_ns / lat_ns {min, max, mean, stddev, N} and clat_ns.percentile keyed "99.000000".
// kaio adds engine, engine_reason and filename per job, error_message and verify_failure when a
// job failed, a top-level "error" when the run could not start, and "error": "interrupted" with
// the "signal" (SIGINT, SIGTERM, SIGHUP) when one stopped it. Written in one piece at the end, so
// a failure never leaves half a document on stdout.
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Kaio.Cli.Workloads;

namespace Kaio.Cli.Reporting;

/// <summary>Writes fio-shaped JSON.</summary>
internal static class JsonReport
{
    public static string Version => "kaio-" + (typeof(JsonReport).Assembly.GetName().Version?.ToString(3) ?? "0");

    /// <summary>A document for a run that could not start: no jobs, the error as a field.</summary>
    public static string ForError(string error) => Write(writer =>
    {
        WriteHeader(writer, []);
        writer.WriteStartArray("jobs");
        writer.WriteEndArray();
        writer.WriteStartArray("disk_util");
        writer.WriteEndArray();
        writer.WriteString("error", error);
    });

    /// <summary>A document for finished jobs, with an optional comparison, error and the signal that stopped them.</summary>
    public static string ForResults(IReadOnlyList<JobResult> results, IReadOnlyList<CompareRow>? compare, string? error, string? signal = null, IReadOnlyList<DiskUtil>? disks = null, bool plus = false, IReadOnlyList<RepeatRow>? repeat = null) => Write(writer =>
    {
        WriteHeader(writer, results.Count > 0 ? results[0].Job.GlobalOptions : []);
        writer.WriteStartArray("jobs");
        foreach (JobResult result in results)
        {
            // fio's bw_agg: the job's mean sampled bandwidth as a percent of its group's aggregate (bytes over the group's longest runtime).
            var group = results.Where(r => r.GroupId == result.GroupId).ToList();
            double seconds = group.Max(r => r.Stats.Runtime.TotalSeconds);
            double[] aggregate = seconds > 0 ? [group.Sum(r => r.Stats.Read.Bytes) / seconds, group.Sum(r => r.Stats.Write.Bytes) / seconds, group.Sum(r => r.Stats.Trim.Bytes) / seconds] : [0, 0, 0];
            WriteJob(writer, result, aggregate, plus);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("disk_util");
        foreach (DiskUtil disk in disks ?? [])
        {
            writer.WriteStartObject();
            writer.WriteString("name", disk.Name);
            writer.WriteNumber("read_ios", disk.ReadIos);
            writer.WriteNumber("write_ios", disk.WriteIos);
            writer.WriteNumber("read_merges", disk.ReadMerges);
            writer.WriteNumber("write_merges", disk.WriteMerges);
            writer.WriteNumber("read_ticks", disk.ReadTicks);
            writer.WriteNumber("write_ticks", disk.WriteTicks);
            writer.WriteNumber("in_queue", disk.InQueue);
            WriteFloat(writer, "util", disk.Util);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (compare is not null)
        {
            writer.WriteStartArray("compare");
            foreach (CompareRow row in compare)
            {
                writer.WriteStartObject();
                writer.WriteString("engine", row.Engine);
                writer.WriteString("engine_reason", row.Reason);
                writer.WriteBoolean("baseline", row.IsBaseline);
                WriteFloat(writer, "iops", row.Iops);
                writer.WriteNumber("bw", row.BandwidthKiB);
                writer.WriteNumber("clat_p50_ns", row.P50);
                writer.WriteNumber("clat_p99_ns", row.P99);
                writer.WriteNumber("clat_p99_9_ns", row.P999);
                if (row.IopsRatio is { } iopsRatio)
                {
                    WriteFloat(writer, "iops_ratio", iopsRatio);
                }

                if (row.P99Ratio is { } p99Ratio)
                {
                    WriteFloat(writer, "clat_p99_ratio", p99Ratio);
                }

                if (row.Error is not null)
                {
                    writer.WriteString("error_message", row.Error);
                }

                if (row.NotRun)
                {
                    writer.WriteBoolean("not_run", true);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (repeat is not null)
        {
            // kaio's: --repeat=N; "jobs" is the last run, this each figure over all of them.
            writer.WriteStartArray("repeat");
            foreach (RepeatRow row in repeat)
            {
                writer.WriteStartObject();
                writer.WriteString("jobname", row.Job);
                writer.WriteString("direction", row.Direction);
                writer.WriteString("figure", row.Figure);
                writer.WriteNumber("runs", row.Values.Count);
                WriteFloat(writer, "mean", row.Mean);
                WriteFloat(writer, "stddev", row.StdDev);
                WriteFloat(writer, "min", row.Min);
                WriteFloat(writer, "max", row.Max);
                writer.WriteStartArray("values");
                foreach (double value in row.Values)
                {
                    writer.WriteRawValue(value.ToString("F6", CultureInfo.InvariantCulture), skipInputValidation: true);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (error is not null)
        {
            writer.WriteString("error", error);
        }

        if (signal is not null)
        {
            writer.WriteString("signal", signal);
        }
    });

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteHeader(Utf8JsonWriter writer, IReadOnlyList<KeyValuePair<string, string>> globalOptions)
    {
        DateTimeOffset now = DateTimeOffset.Now;
        writer.WriteString("fio version", Version);
        writer.WriteNumber("timestamp", now.ToUnixTimeSeconds());
        writer.WriteNumber("timestamp_ms", now.ToUnixTimeMilliseconds());
        writer.WriteString("time", now.ToString("ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture));
        writer.WriteStartObject("global options");
        WriteOptions(writer, globalOptions);
        writer.WriteEndObject();
    }

    /// <summary>Options as given, each once with its last value, in the order first given (as fio applies and lists them).</summary>
    private static void WriteOptions(Utf8JsonWriter writer, IEnumerable<KeyValuePair<string, string>> given)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var option in given)
        {
            if (options.TryAdd(option.Key, option.Value))
            {
                order.Add(option.Key);
            }
            else
            {
                options[option.Key] = option.Value;
            }
        }

        foreach (string key in order)
        {
            writer.WriteString(key, options[key]);
        }
    }

    private static void WriteJob(Utf8JsonWriter writer, JobResult result, double[] aggregate, bool plus)
    {
        writer.WriteStartObject();
        writer.WriteString("jobname", result.Name);
        writer.WriteNumber("groupid", result.GroupId);
        writer.WriteNumber("error", result.Failed ? Math.Max(result.ErrorErrno, 1) : 0);
        if (result.NotRun)
        {
            // kaio's: a stop signal came before the job's group started.
            writer.WriteBoolean("not_run", true);
        }

        if (result.FailureMessage is { } message)
        {
            writer.WriteString("error_message", message);
        }

        if (result.VerifyFailure is { } failure)
        {
            writer.WriteStartObject("verify_failure");
            writer.WriteString("problem", failure.ProblemName);
            writer.WriteNumber("block_offset", failure.BlockOffset);
            writer.WriteNumber("bad_offset", failure.BadOffset);
            writer.WriteString("expected", failure.Expected);
            writer.WriteString("found", failure.Found);
            writer.WriteString("detail", failure.Detail);
            writer.WriteEndObject();
        }

        writer.WriteNumber("eta", 0);
        writer.WriteNumber("elapsed", (long)Math.Ceiling(result.Stats.Runtime.TotalSeconds));
        writer.WriteNumber("job_runtime", (long)result.Stats.Runtime.TotalMilliseconds);
        if (result.Started is { } started)
        {
            // fio's job_start: when the job began, in ms since the epoch; a group's jobs begin together.
            writer.WriteNumber("job_start", started.ToUnixTimeMilliseconds());
        }

        writer.WriteString("engine", result.Engine);
        writer.WriteString("engine_reason", result.EngineReason);
        writer.WriteString("filename", result.Path);
        writer.WriteNumber("numjobs", result.Threads);
        writer.WriteStartObject("job options");
        WriteOptions(writer, result.Job.GivenOptions);
        writer.WriteEndObject();
        var latency = new LatencyReport(result.Job.PercentileList ?? LatencyHistogram.FioPercentiles, result.Job.ClatPercentiles || result.Job.LatPercentiles, result.Job.LatPercentiles, plus);
        ushort jobPriority = result.Job.Priorities.JobValue;
        WriteDirection(writer, "read", result.Stats.Read, result.Stats.Runtime, aggregate[0], latency, jobPriority);
        WriteDirection(writer, "write", result.Stats.Write, result.Stats.Runtime, aggregate[1], latency, jobPriority);
        WriteDirection(writer, "trim", result.Stats.Trim, result.Stats.Runtime, aggregate[2], latency, jobPriority);
        writer.WriteStartObject("sync");
        writer.WriteNumber("total_ios", result.Stats.Sync.Count);
        WriteLatency(writer, "lat_ns", result.Stats.Sync, latency with { Clat = latency.Clat || latency.Lat });
        writer.WriteEndObject();
        if (result.UserCpu is { } user && result.SystemCpu is { } system)
        {
            WriteFloat(writer, "usr_cpu", user);
            WriteFloat(writer, "sys_cpu", system);
        }

        if (result.ProcessCounters is { } counters)
        {
            writer.WriteNumber("ctx", counters.ContextSwitches);
            writer.WriteNumber("majf", counters.MajorFaults);
            writer.WriteNumber("minf", counters.MinorFaults);
        }

        WriteDepthLevels(writer, result.Stats);
        WriteCallSizes(writer, "iodepth_submit", result.Stats.SubmitLevels);
        WriteCallSizes(writer, "iodepth_complete", result.Stats.CompleteLevels);
        WriteLatencyBuckets(writer, result.Stats);

        // fio's latency_target mode (latency_target, latency_window, latency_percentile) is not
        // supported; these are the values fio reports for a job without it.
        writer.WriteNumber("latency_depth", result.Job.IoDepth);
        writer.WriteNumber("latency_target", 0);
        WriteFloat(writer, "latency_percentile", 100);
        writer.WriteNumber("latency_window", 0);
        writer.WriteEndObject();
    }

    /// <summary>fio's iodepth_submit / iodepth_complete: percent of calls by how many requests each carried.</summary>
    private static void WriteCallSizes(Utf8JsonWriter writer, string name, long[] levels)
    {
        long total = levels.Sum();
        writer.WriteStartObject(name);
        for (int i = 0; i < levels.Length; i++)
        {
            WriteFloat(writer, ThreadStats.CallSizeKeys[i], total > 0 ? levels[i] * 100.0 / total : 0);
        }

        writer.WriteEndObject();
    }

    /// <summary>Which latencies get percentiles (fio's clat_percentiles, lat_percentiles, percentile_list), and json+'s bins.</summary>
    private readonly record struct LatencyReport(double[] Percentiles, bool Clat, bool Lat, bool Bins);

    /// <summary>fio's iodepth_level: percent of submissions at each depth (see <see cref="ThreadStats.DepthLevels"/>); then kaio's iodepth_mean.</summary>
    private static void WriteDepthLevels(Utf8JsonWriter writer, ThreadStats stats)
    {
        long total = stats.DepthLevels.Sum();
        writer.WriteStartObject("iodepth_level");
        for (int i = 0; i < stats.DepthLevels.Length; i++)
        {
            WriteFloat(writer, ThreadStats.DepthLevelKeys[i], total > 0 ? stats.DepthLevels[i] * 100.0 / total : 0);
        }

        writer.WriteEndObject();

        // kaio's own key (fio has none): the mean of the same depths, the job's effective depth.
        WriteFloat(writer, "iodepth_mean", stats.DepthMean);
    }

    private static readonly long[] s_latencyBounds = [2, 4, 10, 20, 50, 100, 250, 500, 750, 1000];
    private static readonly long[] s_latencyBoundsMs = [.. s_latencyBounds, 2000];

    /// <summary>
    /// fio's latency_ns / latency_us / latency_ms: percent of I/Os (reads and writes) whose total
    /// latency falls in each bucket (io_u_mark_lat_nsec/usec/msec). Each unit covers its own
    /// range — ns below 1 µs, µs from 1 µs below 1 ms, ms from 1 ms — and a key is its bucket's
    /// exclusive upper bound, the bucket starting at the key before it.
    /// </summary>
    private static void WriteLatencyBuckets(Utf8JsonWriter writer, ThreadStats stats)
    {
        var lat = new LatencyHistogram();
        lat.Merge(stats.Read.Lat);
        lat.Merge(stats.Write.Lat);
        WriteBuckets(writer, lat, "latency_ns", 1, s_latencyBounds, tail: false);
        WriteBuckets(writer, lat, "latency_us", 1_000, s_latencyBounds, tail: false);
        WriteBuckets(writer, lat, "latency_ms", 1_000_000, s_latencyBoundsMs, tail: true);
    }

    private static void WriteBuckets(Utf8JsonWriter writer, LatencyHistogram lat, string name, long scale, long[] bounds, bool tail)
    {
        writer.WriteStartObject(name);
        long low = scale == 1 ? 0 : scale;
        foreach (long bound in bounds)
        {
            long high = bound * scale;
            WriteFloat(writer, bound.ToString(CultureInfo.InvariantCulture), Percent(lat.CountBetween(low, high)));
            low = high;
        }

        if (tail)
        {
            WriteFloat(writer, ">=2000", Percent(lat.CountBetween(low, long.MaxValue)));
        }

        writer.WriteEndObject();

        double Percent(long count) => lat.Count > 0 ? count * 100.0 / lat.Count : 0;
    }

    private static void WriteDirection(Utf8JsonWriter writer, string name, DirectionStats stats, TimeSpan runtime, double aggregateBytesPerSecond, LatencyReport latency, ushort jobPriority)
    {
        // As fio: bw_bytes = bytes * 1000 / runtime ms, bw = bw_bytes / 1024, both integers.
        long milliseconds = stats.Ios > 0 ? (long)runtime.TotalMilliseconds : 0;
        long bytesPerSecond = milliseconds > 0 ? stats.Bytes * 1000 / milliseconds : 0;
        double iops = milliseconds > 0 ? stats.Ios * 1000.0 / milliseconds : 0;
        writer.WriteStartObject(name);
        writer.WriteNumber("io_bytes", stats.Bytes);
        writer.WriteNumber("io_kbytes", stats.Bytes / 1024);
        writer.WriteNumber("bw_bytes", bytesPerSecond);
        writer.WriteNumber("bw", bytesPerSecond / 1024);
        WriteFloat(writer, "iops", iops);
        writer.WriteNumber("runtime", milliseconds);
        writer.WriteNumber("total_ios", stats.Ios);
        writer.WriteNumber("short_ios", 0);
        writer.WriteNumber("drop_ios", 0);
        WriteLatency(writer, "slat_ns", stats.Slat, latency with { Clat = false });
        WriteLatency(writer, "clat_ns", stats.Clat, latency);
        WriteLatency(writer, "lat_ns", stats.Lat, latency with { Clat = latency.Lat });
        if (stats.ByPriority is { Count: >= 2 } byPriority)
        {
            // fio's prios (stat.c): only with two priorities or more; the job's own value first,
            // each with its class (value >> 13), level (value & 7) and clat_ns, or lat_ns with lat_percentiles.
            // With priority hints (cmdprio_bssplit's fifth field) also "priohint", as fio 3.36 and later write it.
            bool hints = byPriority.Keys.Any(p => Jobs.IoPriorities.HintOf(p) != 0);
            writer.WriteStartArray("prios");
            foreach ((ushort priority, LatencyHistogram histogram) in byPriority.OrderBy(p => p.Key == jobPriority ? 0 : 1).ThenBy(p => p.Key))
            {
                writer.WriteStartObject();
                writer.WriteNumber("prioclass", priority >> IoPriority.ClassShift);
                writer.WriteNumber("prio", priority & IoPriority.LevelMask);
                if (hints)
                {
                    writer.WriteNumber("priohint", Jobs.IoPriorities.HintOf(priority));
                }

                WriteLatency(writer, latency.Lat ? "lat_ns" : "clat_ns", histogram, latency with { Clat = latency.Clat || latency.Lat });
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        // fio's bw_* and iops_* come from the interval samples (IntervalSampler), 0 without any.
        LatencyMoments bw = stats.BwSamples;
        LatencyMoments iopsSamples = stats.IopsSamples;
        double agg = bw.Count > 0 && aggregateBytesPerSecond > 1024 ? Math.Min(100, (long)bw.Mean * 100.0 / (aggregateBytesPerSecond / 1024)) : bw.Count > 0 ? 100 : 0;
        writer.WriteNumber("bw_min", bw.Count > 0 ? bw.Min : 0);
        writer.WriteNumber("bw_max", bw.Max);
        WriteFloat(writer, "bw_agg", agg);
        WriteFloat(writer, "bw_mean", bw.Mean);
        WriteFloat(writer, "bw_dev", bw.StdDev);
        writer.WriteNumber("bw_samples", bw.Count);
        writer.WriteNumber("iops_min", iopsSamples.Count > 0 ? iopsSamples.Min : 0);
        writer.WriteNumber("iops_max", iopsSamples.Max);
        WriteFloat(writer, "iops_mean", iopsSamples.Mean);
        WriteFloat(writer, "iops_stddev", iopsSamples.StdDev);
        writer.WriteNumber("iops_samples", iopsSamples.Count);
        writer.WriteEndObject();
    }

    /// <summary>min, max, mean, stddev, N; with <see cref="LatencyReport.Clat"/> the percentiles (and json+'s bins).</summary>
    private static void WriteLatency(Utf8JsonWriter writer, string name, LatencyMoments latency, LatencyReport report)
    {
        writer.WriteStartObject(name);
        writer.WriteNumber("min", latency.Count > 0 ? latency.Min : 0);
        writer.WriteNumber("max", latency.Max);
        WriteFloat(writer, "mean", latency.Mean);
        WriteFloat(writer, "stddev", latency.StdDev);
        writer.WriteNumber("N", latency.Count);
        if (report.Clat && latency is LatencyHistogram histogram && histogram.Count > 0)
        {
            writer.WriteStartObject("percentile");
            foreach (double percentile in report.Percentiles)
            {
                writer.WriteNumber(percentile.ToString("F6", CultureInfo.InvariantCulture), histogram.Percentile(percentile));
            }

            writer.WriteEndObject();
            if (report.Bins)
            {
                writer.WriteStartObject("bins");
                foreach ((long value, long count) in histogram.FioBins())
                {
                    writer.WriteNumber(value.ToString(CultureInfo.InvariantCulture), count);
                }

                writer.WriteEndObject();
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>A float as fio writes one (printf's %f: six decimals, "100.000000").</summary>
    internal static void WriteFloat(Utf8JsonWriter writer, string name, double value)
    {
        writer.WritePropertyName(name);
        writer.WriteRawValue(double.IsFinite(value) ? value.ToString("F6", CultureInfo.InvariantCulture) : "0.000000", skipInputValidation: true);
    }
}
