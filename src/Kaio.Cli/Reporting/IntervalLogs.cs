// Design: fio's per-interval logs (write_bw_log, write_lat_log, write_iops_log; stat.c
// add_log_sample(), iolog.c flush_samples()): one file per job thread and kind, named
// PREFIX_KIND.N.log with N the thread's number in the run from 1, written in chunks as they fill, each line
// "msec, value, direction, bs, [offset, ]priority" as fio 3.33 writes it, with direction 0 read, 1 write,
// the offset with log_offset, the priority as log_prio says. msec counts from the
// start of recording (after ramp_time). With log_avg_msec = 0 every I/O is an entry (bw:
// bytes * 10^6 / clat ns, as fio computes it; iops: 1; latencies in ns); otherwise an entry per
// window: latencies averaged over the window (written by the job thread as its I/Os complete,
// the last partial window at the end), bandwidth (KiB/s) and IOPS over it (written by the
// interval sampler, which reads the job threads' counters; no partial last window, as fio).
// Threading: the job thread writes the latency logs and the per-I/O bw/iops logs; the sampler
// writes the averaged bw/iops logs; the runner writes the files after both have finished.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Reporting;

/// <summary>One line of a fio log.</summary>
internal readonly record struct LogEntry(long Msec, long Value, int Direction, int BlockSize, long Offset, ushort Priority = 0);

/// <summary>
/// One log file: entries gather in memory and go to the file in chunks (as fio flushes its log
/// buffers), so a per-I/O log of a long run holds at most <see cref="FlushAt"/> entries at a time.
/// One writer at a time: the job thread, or the sampler.
/// </summary>
internal sealed class IntervalLog
{
    private readonly bool _logOffset;
    private readonly bool _logPrio;
    private bool _created;

    public IntervalLog(string kind, string path, int flushAt = 65536, bool logOffset = false, bool logPrio = false)
    {
        _logOffset = logOffset;
        _logPrio = logPrio;
        Kind = kind;
        Path = path;
        FlushAt = flushAt;
    }

    /// <summary>fio's file kind: bw, iops, clat, slat, lat.</summary>
    public string Kind { get; }

    public string Path { get; }

    public int FlushAt { get; }

    /// <summary>Entries not yet in the file.</summary>
    public List<LogEntry> Entries { get; } = [];

    public static string FileName(string prefix, string kind, int threadNumber) => string.Create(CultureInfo.InvariantCulture, $"{prefix}_{kind}.{threadNumber}.log");

    public void Add(LogEntry entry)
    {
        Entries.Add(entry);
        if (Entries.Count >= FlushAt)
        {
            Flush();
        }
    }

    /// <summary>Appends the gathered entries to the file (creating it the first time).</summary>
    public void Flush()
    {
        var text = new StringBuilder(Entries.Count * 24);
        foreach (LogEntry e in Entries)
        {
            // fio 3.33 (iolog.c flush_samples()): "msec, value, ddir, bs, [offset, ]prio"; prio is
            // 0x%04x with log_prio, else 1 for the real-time class and 0 otherwise.
            text.Append(CultureInfo.InvariantCulture, $"{e.Msec}, {e.Value}, {e.Direction}, {e.BlockSize}, ");
            if (_logOffset)
            {
                text.Append(CultureInfo.InvariantCulture, $"{e.Offset}, ");
            }

            text.Append(_logPrio
                ? "0x" + e.Priority.ToString("x4", CultureInfo.InvariantCulture)
                : IoPriorities.IsRealTime(e.Priority) ? "1" : "0");
            text.Append('\n');
        }

        if (_created)
        {
            File.AppendAllText(Path, text.ToString());
        }
        else
        {
            File.WriteAllText(Path, text.ToString());
            _created = true;
        }

        Entries.Clear();
    }

    /// <summary>Reads a fio-format log (kaio's or fio's): the first two columns and the direction of each line.</summary>
    public static List<LogEntry> Read(string path)
    {
        var entries = new List<LogEntry>();
        foreach (string line in File.ReadLines(path))
        {
            string[] fields = line.Split(',', StringSplitOptions.TrimEntries);
            if (fields.Length >= 3
                && long.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long msec)
                && long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long value)
                && int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int direction))
            {
                entries.Add(new LogEntry(msec, value, direction, 0, 0));
            }
        }

        return entries;
    }
}

/// <summary>The logs of one job thread.</summary>
internal sealed class JobLogs
{
    private readonly long _windowTicks;
    private readonly int _avgMsec;
    private readonly long[] _sum = new long[9]; // kind (clat, slat, lat) x 3 + direction (read, write, trim)
    private readonly long[] _count = new long[9];
    private long _start;
    private long _windowEnd;

    private JobLogs(JobSpec job, int threadNumber)
    {
        _avgMsec = job.LogAvgMsec;
        _windowTicks = (long)(job.LogAvgMsec / 1000.0 * Stopwatch.Frequency);
        if (job.BwLog is { } bw)
        {
            Bw = new IntervalLog("bw", IntervalLog.FileName(bw, "bw", threadNumber), logOffset: job.LogOffset, logPrio: job.LogPrio);
        }

        if (job.IopsLog is { } iops)
        {
            Iops = new IntervalLog("iops", IntervalLog.FileName(iops, "iops", threadNumber), logOffset: job.LogOffset, logPrio: job.LogPrio);
        }

        if (job.LatLog is { } lat)
        {
            Clat = new IntervalLog("clat", IntervalLog.FileName(lat, "clat", threadNumber), logOffset: job.LogOffset, logPrio: job.LogPrio);
            Slat = new IntervalLog("slat", IntervalLog.FileName(lat, "slat", threadNumber), logOffset: job.LogOffset, logPrio: job.LogPrio);
            Lat = new IntervalLog("lat", IntervalLog.FileName(lat, "lat", threadNumber), logOffset: job.LogOffset, logPrio: job.LogPrio);
        }
    }

    /// <summary>The logs a job asks for, for its thread number <paramref name="threadNumber"/> in the run; null when it asks for none.</summary>
    public static JobLogs? For(JobSpec job, int threadNumber) => job.BwLog is null && job.LatLog is null && job.IopsLog is null ? null : new JobLogs(job, threadNumber);

    public IntervalLog? Bw { get; }

    public IntervalLog? Iops { get; }

    public IntervalLog? Clat { get; }

    public IntervalLog? Slat { get; }

    public IntervalLog? Lat { get; }

    /// <summary>Whether the bw and iops logs are averaged over windows (the sampler writes them) rather than per I/O.</summary>
    public bool Averaged => _avgMsec > 0;

    /// <summary>The log window in ms.</summary>
    public int WindowMsec => _avgMsec;

    /// <summary>Starts the clock (Stopwatch ticks when recording starts); before any I/O is recorded.</summary>
    public void Start(long ticks)
    {
        _start = ticks;
        _windowEnd = ticks + _windowTicks;
    }

    public long Msec(long ticks) => (long)((ticks - _start) * 1000.0 / Stopwatch.Frequency);

    /// <summary>One recorded I/O (job thread).</summary>
    public void Record(int direction, int bytes, long offset, long slatNs, long clatNs, long ticks, ushort priority = 0)
    {
        if (!Averaged)
        {
            long msec = Msec(ticks);
            Clat?.Add(new LogEntry(msec, clatNs, direction, bytes, offset, priority));
            Slat?.Add(new LogEntry(msec, slatNs, direction, bytes, offset, priority));
            Lat?.Add(new LogEntry(msec, slatNs + clatNs, direction, bytes, offset, priority));
            Bw?.Add(new LogEntry(msec, clatNs > 0 ? bytes * 1_000_000L / clatNs : 0, direction, bytes, offset, priority));
            Iops?.Add(new LogEntry(msec, 1, direction, bytes, offset, priority));
            return;
        }

        if (Clat is null)
        {
            return;
        }

        while (ticks >= _windowEnd)
        {
            FlushWindow(_windowEnd);
            _windowEnd += _windowTicks;
        }

        _sum[direction] += clatNs;
        _sum[3 + direction] += slatNs;
        _sum[6 + direction] += slatNs + clatNs;
        _count[direction]++;
        _count[3 + direction]++;
        _count[6 + direction]++;
    }

    /// <summary>Writes the last partial latency window (job thread, when its workload ends).</summary>
    public void Finish(long ticks)
    {
        if (Averaged && Clat is not null)
        {
            FlushWindow(Math.Min(ticks, _windowEnd));
        }
    }

    private void FlushWindow(long endTicks)
    {
        long msec = Msec(endTicks);
        IntervalLog[] logs = [Clat!, Slat!, Lat!];
        for (int kind = 0; kind < 3; kind++)
        {
            for (int direction = 0; direction < 3; direction++)
            {
                int i = (kind * 3) + direction;
                if (_count[i] > 0)
                {
                    logs[kind].Add(new LogEntry(msec, _sum[i] / _count[i], direction, 0, 0));
                    _sum[i] = 0;
                    _count[i] = 0;
                }
            }
        }
    }

    /// <summary>Writes what is left of each log to its file (after the job thread and the sampler are done); returns the files.</summary>
    public List<string> WriteFiles()
    {
        var written = new List<string>();
        foreach (IntervalLog? log in new[] { Bw, Iops, Clat, Slat, Lat })
        {
            if (log is not null)
            {
                log.Flush();
                written.Add(log.Path);
            }
        }

        return written;
    }
}
