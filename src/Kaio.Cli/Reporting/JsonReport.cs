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
        WriteHeader(writer);
        writer.WriteStartArray("jobs");
        writer.WriteEndArray();
        writer.WriteStartArray("disk_util");
        writer.WriteEndArray();
        writer.WriteString("error", error);
    });

    /// <summary>A document for finished jobs, with an optional comparison, error and the signal that stopped them.</summary>
    public static string ForResults(IReadOnlyList<JobResult> results, IReadOnlyList<CompareRow>? compare, string? error, string? signal = null) => Write(writer =>
    {
        WriteHeader(writer);
        writer.WriteStartArray("jobs");
        foreach (JobResult result in results)
        {
            WriteJob(writer, result);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("disk_util");
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
                writer.WriteNumber("iops", Round(row.Iops));
                writer.WriteNumber("bw", row.BandwidthKiB);
                writer.WriteNumber("clat_p50_ns", row.P50);
                writer.WriteNumber("clat_p99_ns", row.P99);
                writer.WriteNumber("clat_p99_9_ns", row.P999);
                if (row.IopsRatio is { } iopsRatio)
                {
                    writer.WriteNumber("iops_ratio", Round(iopsRatio));
                }

                if (row.P99Ratio is { } p99Ratio)
                {
                    writer.WriteNumber("clat_p99_ratio", Round(p99Ratio));
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

    private static void WriteHeader(Utf8JsonWriter writer)
    {
        DateTimeOffset now = DateTimeOffset.Now;
        writer.WriteString("fio version", Version);
        writer.WriteNumber("timestamp", now.ToUnixTimeSeconds());
        writer.WriteNumber("timestamp_ms", now.ToUnixTimeMilliseconds());
        writer.WriteString("time", now.ToString("ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture));
        writer.WriteStartObject("global options");
        writer.WriteEndObject();
    }

    private static void WriteJob(Utf8JsonWriter writer, JobResult result)
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
        // Later settings override earlier ones (defaults, [global], the section), as fio applies them.
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var option in result.Job.GivenOptions)
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

        writer.WriteEndObject();
        WriteDirection(writer, "read", result.Stats.Read, result.Stats.Runtime);
        WriteDirection(writer, "write", result.Stats.Write, result.Stats.Runtime);
        WriteDirection(writer, "trim", new DirectionStats(), result.Stats.Runtime);
        writer.WriteStartObject("sync");
        writer.WriteNumber("total_ios", result.Stats.Sync.Count);
        WriteLatency(writer, "lat_ns", result.Stats.Sync, withPercentiles: true);
        writer.WriteEndObject();
        if (result.UserCpu is { } user && result.SystemCpu is { } system)
        {
            writer.WriteNumber("usr_cpu", Round(user));
            writer.WriteNumber("sys_cpu", Round(system));
        }

        if (result.ProcessCounters is { } counters)
        {
            writer.WriteNumber("ctx", counters.ContextSwitches);
            writer.WriteNumber("majf", counters.MajorFaults);
            writer.WriteNumber("minf", counters.MinorFaults);
        }

        WriteDepthLevels(writer, result.Stats);
        WriteLatencyBuckets(writer, result.Stats);
        writer.WriteEndObject();
    }

    /// <summary>fio's iodepth_level: percent of submissions at each depth (see <see cref="ThreadStats.DepthLevels"/>).</summary>
    private static void WriteDepthLevels(Utf8JsonWriter writer, ThreadStats stats)
    {
        long total = stats.DepthLevels.Sum();
        writer.WriteStartObject("iodepth_level");
        for (int i = 0; i < stats.DepthLevels.Length; i++)
        {
            writer.WriteNumber(ThreadStats.DepthLevelKeys[i], total > 0 ? Round(stats.DepthLevels[i] * 100.0 / total) : 0);
        }

        writer.WriteEndObject();
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
            writer.WriteNumber(bound.ToString(CultureInfo.InvariantCulture), Percent(lat.CountBetween(low, high)));
            low = high;
        }

        if (tail)
        {
            writer.WriteNumber(">=2000", Percent(lat.CountBetween(low, long.MaxValue)));
        }

        writer.WriteEndObject();

        double Percent(long count) => lat.Count > 0 ? Round(count * 100.0 / lat.Count) : 0;
    }

    private static void WriteDirection(Utf8JsonWriter writer, string name, DirectionStats stats, TimeSpan runtime)
    {
        double seconds = stats.Ios > 0 ? runtime.TotalSeconds : 0;
        double bytesPerSecond = seconds > 0 ? stats.Bytes / seconds : 0;
        double iops = seconds > 0 ? stats.Ios / seconds : 0;
        writer.WriteStartObject(name);
        writer.WriteNumber("io_bytes", stats.Bytes);
        writer.WriteNumber("io_kbytes", stats.Bytes / 1024);
        writer.WriteNumber("bw_bytes", (long)bytesPerSecond);
        writer.WriteNumber("bw", (long)(bytesPerSecond / 1024));
        writer.WriteNumber("iops", Round(iops));
        writer.WriteNumber("runtime", stats.Ios > 0 ? (long)runtime.TotalMilliseconds : 0);
        writer.WriteNumber("total_ios", stats.Ios);
        writer.WriteNumber("short_ios", 0);
        writer.WriteNumber("drop_ios", 0);
        WriteLatency(writer, "slat_ns", stats.Slat, withPercentiles: false);
        WriteLatency(writer, "clat_ns", stats.Clat, withPercentiles: true);
        WriteLatency(writer, "lat_ns", stats.Lat, withPercentiles: false);
        writer.WriteNumber("bw_mean", Round(bytesPerSecond / 1024));
        writer.WriteNumber("iops_mean", Round(iops));
        writer.WriteEndObject();
    }

    private static void WriteLatency(Utf8JsonWriter writer, string name, LatencyMoments latency, bool withPercentiles)
    {
        writer.WriteStartObject(name);
        writer.WriteNumber("min", latency.Count > 0 ? latency.Min : 0);
        writer.WriteNumber("max", latency.Max);
        writer.WriteNumber("mean", Round(latency.Mean));
        writer.WriteNumber("stddev", Round(latency.StdDev));
        writer.WriteNumber("N", latency.Count);
        if (withPercentiles && latency is LatencyHistogram histogram && histogram.Count > 0)
        {
            writer.WriteStartObject("percentile");
            foreach (double percentile in LatencyHistogram.FioPercentiles)
            {
                writer.WriteNumber(percentile.ToString("F6", CultureInfo.InvariantCulture), histogram.Percentile(percentile));
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static double Round(double value) => Math.Round(value, 6);
}
