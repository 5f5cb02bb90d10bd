// Design: the live line while jobs run (fio's eta line): IOPS and bandwidth over the last second,
// elapsed and remaining time. Samples the job threads' counters four times a second from the
// runner's thread; only used on an interactive terminal, never in JSON mode.
using System.Globalization;
using Kaio.Cli.Workloads;
using Spectre.Console;

namespace Kaio.Cli.Reporting;

/// <summary>Spectre.Console live progress for a running group.</summary>
internal sealed class LiveProgress : IProgressView
{
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(250);

    private readonly IAnsiConsole _console;

    public LiveProgress(IAnsiConsole console)
    {
        _console = console;
    }

    public void Watch(RunningGroup group)
    {
        var samples = new Queue<(DateTime At, long Ios, long Bytes)>();
        _console.Live(new Markup(Describe(group, samples)))
            .AutoClear(true)
            .Start(context =>
            {
                while (!group.AllFinished)
                {
                    Thread.Sleep(s_tick);
                    context.UpdateTarget(new Markup(Describe(group, samples)));
                    context.Refresh();
                }
            });
    }

    private static string Describe(RunningGroup group, Queue<(DateTime At, long Ios, long Bytes)> samples)
    {
        DateTime now = DateTime.UtcNow;
        long ios = group.Threads.Sum(t => t.Ios);
        long bytes = group.Threads.Sum(t => t.Bytes);
        samples.Enqueue((now, ios, bytes));
        while (samples.Count > 1 && now - samples.Peek().At > TimeSpan.FromSeconds(1))
        {
            samples.Dequeue();
        }

        var (at, firstIos, firstBytes) = samples.Peek();
        double window = (now - at).TotalSeconds;
        double iops = window > 0 ? (ios - firstIos) / window : 0;
        double mibs = window > 0 ? (bytes - firstBytes) / window / (1024 * 1024) : 0;
        TimeSpan elapsed = now - group.Started;
        TimeSpan? remaining = null;
        if (group.Runtime is { } runtime)
        {
            remaining = runtime > elapsed ? runtime - elapsed : TimeSpan.Zero;
        }

        if (group.TotalBytes > 0 && mibs > 0)
        {
            var bySize = TimeSpan.FromSeconds((group.TotalBytes - bytes) / (mibs * 1024 * 1024));
            remaining = remaining is { } r && r < bySize ? r : bySize;
        }

        int running = group.Threads.Count(t => !t.Finished);
        return string.Create(CultureInfo.InvariantCulture,
            $"[bold]Jobs: {running}[/]  [green]{NormalReport.FormatCount(iops)} IOPS[/]  [blue]{mibs:0.0} MiB/s[/]  elapsed {Clock(elapsed)}  remaining {(remaining is { } left ? Clock(left) : "?")}");
    }

    private static string Clock(TimeSpan time) => time.ToString(time.TotalHours >= 1 ? @"h\:mm\:ss" : @"mm\:ss", CultureInfo.InvariantCulture);
}
