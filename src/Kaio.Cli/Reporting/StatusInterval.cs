// Design: fio's --status-interval without a terminal: every interval, one line per running job
// with what it did since the group started (fio's "cumulative (from job start) values"): IOPS,
// bandwidth and I/Os per direction, from the job threads' counters. Plain text lines, so a log
// file or a pipe gets them as they come; in JSON mode they go to stderr, stdout keeping its
// one document. Runs on the runner's thread in place of the live line.
using System.Globalization;
using Kaio.Cli.Workloads;

namespace Kaio.Cli.Reporting;

/// <summary>Writes a status line per job every interval while a group runs.</summary>
internal sealed class StatusInterval : IProgressView
{
    private readonly TextWriter _writer;
    private readonly TimeSpan _interval;

    public StatusInterval(TextWriter writer, TimeSpan interval)
    {
        _writer = writer;
        _interval = interval;
    }

    public void Watch(RunningGroup group)
    {
        DateTime next = group.Started + _interval;
        while (!group.AllFinished)
        {
            TimeSpan wait = next - DateTime.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                Thread.Sleep(wait < TimeSpan.FromMilliseconds(50) ? wait : TimeSpan.FromMilliseconds(50));
                continue;
            }

            Write(group, DateTime.UtcNow - group.Started);
            next += _interval;
        }
    }

    private void Write(RunningGroup group, TimeSpan elapsed)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        foreach (IGrouping<string, JobThread> job in group.Threads.GroupBy(t => t.Job.Name))
        {
            var line = new System.Text.StringBuilder();
            line.Append(CultureInfo.InvariantCulture, $"status {elapsed.TotalSeconds:0.0}s {job.Key}:");
            foreach ((string name, int direction) in new[] { ("read", 0), ("write", 1), ("trim", 2) })
            {
                long ios = job.Sum(t => t.Counted(direction).Ios);
                long bytes = job.Sum(t => t.Counted(direction).Bytes);
                if (ios > 0)
                {
                    line.Append(CultureInfo.InvariantCulture, $" {name}: IOPS={ios / seconds:0} BW={bytes / seconds / 1024:0}KiB/s ios={ios}");
                }
            }

            if (job.All(t => t.Counted(0).Ios + t.Counted(1).Ios + t.Counted(2).Ios == 0))
            {
                line.Append(" no I/O yet");
            }

            _writer.WriteLine(line.ToString());
            _writer.Flush();
        }
    }
}
