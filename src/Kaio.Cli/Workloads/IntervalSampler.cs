// Design: fio's bandwidth and IOPS samples (stat.c calc_log_samples(), __add_samples(), run by
// fio's helper thread): every 500 ms (fio's bw_avg_time and iops_avg_time) this thread reads
// each running job thread's recorded I/Os and bytes per direction and turns the difference
// since the last sample into KiB/s and I/Os per second over the time that really passed; a
// direction without I/O in the interval gives no sample, as in fio. The samples feed bw_min/
// max/mean/dev/samples and iops_min/max/stddev/samples, and the time series behind `--plot`;
// with write_bw_log / write_iops_log and log_avg_msec > 0 a second schedule writes the log
// entries the same way over log_avg_msec windows. A job thread is sampled from when its
// recording starts (after ramp_time) until it finishes; a partial last interval gives nothing.
// Threading: one sampler thread per group; it reads the job threads' Volatile counters only and
// owns everything it writes; the runner reads that after Dispose has joined it.
using System.Diagnostics;
using Kaio.Cli.Reporting;

namespace Kaio.Cli.Workloads;

/// <summary>One bandwidth/IOPS sample of one job thread and direction.</summary>
internal readonly record struct RateSample(long Msec, int Direction, long KiBPerSecond, long Iops);

/// <summary>Samples a group's job threads on a thread of its own until disposed.</summary>
internal sealed class IntervalSampler : IDisposable
{
    /// <summary>fio's bw_avg_time / iops_avg_time default.</summary>
    public const int IntervalMsec = 500;

    private readonly IReadOnlyList<JobThread> _threads;
    private readonly Schedule[] _stats;
    private readonly Schedule?[] _logs;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private bool _disposed;

    public IntervalSampler(IReadOnlyList<JobThread> threads, long gateOpened)
    {
        _threads = threads;
        _stats = new Schedule[threads.Count];
        _logs = new Schedule?[threads.Count];
        for (int i = 0; i < threads.Count; i++)
        {
            long start = JobThread.RecordStart(gateOpened, threads[i].Job);
            _stats[i] = new Schedule(start, IntervalMsec);
            if (threads[i].Logs is { Averaged: true } logs && (logs.Bw is not null || logs.Iops is not null))
            {
                _logs[i] = new Schedule(start, logs.WindowMsec);
            }

            Samples.Add([]);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "kaio sampler" };
        _thread.Start();
    }

    /// <summary>Each thread's samples (by index of the threads given), in time order.</summary>
    public List<List<RateSample>> Samples { get; } = [];

    private void Run()
    {
        while (true)
        {
            long now = Stopwatch.GetTimestamp();
            long next = long.MaxValue;
            for (int i = 0; i < _threads.Count; i++)
            {
                JobThread thread = _threads[i];
                if (thread.Finished)
                {
                    continue;
                }

                List<RateSample> samples = Samples[i];
                next = Math.Min(next, Sample(_stats[i], thread, now, (direction, msec, kib, iops) => samples.Add(new RateSample(msec, direction, kib, iops))));
                if (_logs[i] is { } logSchedule)
                {
                    JobLogs logs = thread.Logs!;
                    next = Math.Min(next, Sample(logSchedule, thread, now, (direction, msec, kib, iops) =>
                    {
                        logs.Bw?.Add(new LogEntry(msec, kib, direction, 0, 0));
                        logs.Iops?.Add(new LogEntry(msec, iops, direction, 0, 0));
                    }));
                }
            }

            TimeSpan wait = next == long.MaxValue ? TimeSpan.FromMilliseconds(50) : Stopwatch.GetElapsedTime(now, Math.Max(now, next));
            if (_stop.Wait(wait))
            {
                return;
            }
        }
    }

    /// <summary>Takes the schedule's sample when it is due; returns when the next is due (Stopwatch ticks).</summary>
    private static long Sample(Schedule schedule, JobThread thread, long now, Action<int, long, long, long> add)
    {
        if (now < schedule.Start)
        {
            return schedule.Start + schedule.Ticks;
        }

        if (schedule.Last == 0)
        {
            schedule.Last = schedule.Start;
            schedule.Due = schedule.Start + schedule.Ticks;
        }

        if (now < schedule.Due)
        {
            return schedule.Due;
        }

        double spentMsec = (now - schedule.Last) * 1000.0 / Stopwatch.Frequency;
        long msec = (long)((now - schedule.Start) * 1000.0 / Stopwatch.Frequency);
        for (int direction = 0; direction < 3; direction++)
        {
            (long ios, long bytes) = thread.Counted(direction);
            long deltaIos = ios - schedule.Ios[direction];
            long deltaBytes = bytes - schedule.Bytes[direction];
            schedule.Ios[direction] = ios;
            schedule.Bytes[direction] = bytes;
            if (deltaIos > 0)
            {
                add(direction, msec, (long)(deltaBytes * 1000 / spentMsec / 1024), (long)(deltaIos * 1000 / spentMsec));
            }
        }

        // The next sample is due on the interval grid, so a late wake-up does not push every later
        // sample back (fio shortens the next wait the same way); after a long stall, from now.
        schedule.Last = now;
        schedule.Due += schedule.Ticks;
        if (schedule.Due <= now)
        {
            schedule.Due = now + schedule.Ticks;
        }

        return schedule.Due;
    }

    /// <summary>Stops sampling and folds the samples into each thread's stats; call after the job threads are joined.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
        for (int i = 0; i < _threads.Count; i++)
        {
            foreach (RateSample sample in Samples[i])
            {
                DirectionStats stats = sample.Direction switch { 0 => _threads[i].Stats.Read, 1 => _threads[i].Stats.Write, _ => _threads[i].Stats.Trim };
                stats.BwSamples.Record(sample.KiBPerSecond);
                stats.IopsSamples.Record(sample.Iops);
            }
        }
    }

    private sealed class Schedule(long start, int msec)
    {
        public long Start { get; } = start;

        public long Ticks { get; } = (long)(msec / 1000.0 * Stopwatch.Frequency);

        public long Last { get; set; }

        public long Due { get; set; }

        public long[] Ios { get; } = new long[3]; // read, write, trim

        public long[] Bytes { get; } = new long[3];
    }
}
