// Design: fio's steadystate (HOWTO "Steady state"; steadystate.c): once a second after ss_ramp,
// a job's IOPS and bandwidth (bytes/s) over the last second go into a rolling window of ss_dur
// seconds; when the window is full and its criterion is under the limit, the job stops. `iops` /
// `bw`: the largest distance of a sample from the window's mean; `iops_slope` / `bw_slope`: the
// least-squares slope of the samples (per second), its magnitude; a limit ending in % is a
// percent of the window's mean. fio with group_reporting judges a group's jobs together; kaio
// judges each job (its numjobs threads summed).
using System.Globalization;
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>A steadystate criterion: what is measured, how, and the limit.</summary>
internal sealed record SteadyStateCriterion(bool Bandwidth, bool Slope, double Limit, bool Percent)
{
    /// <summary>fio's default: iops_slope:0.01%.</summary>
    public static SteadyStateCriterion Default { get; } = new(false, true, 0.01, true);

    public static SteadyStateCriterion Parse(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string metric = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        (bool bandwidth, bool slope) = metric switch
        {
            "iops" => (false, false),
            "iops_slope" => (false, true),
            "bw" => (true, false),
            "bw_slope" => (true, true),
            _ => throw new JobOptionException($"steadystate={text}: expected iops, iops_slope, bw or bw_slope, then :LIMIT (like iops_slope:0.1%)"),
        };
        string limitText = colon < 0 ? "" : text[(colon + 1)..].Trim();
        bool percent = limitText.EndsWith('%');
        if (percent)
        {
            limitText = limitText[..^1];
        }

        return double.TryParse(limitText, NumberStyles.Float, CultureInfo.InvariantCulture, out double limit) && limit >= 0 && double.IsFinite(limit)
            ? new(bandwidth, slope, limit, percent)
            : throw new JobOptionException($"steadystate={text}: '{limitText}' is not a limit (a number, or a percent of the mean like 10%)");
    }

    public string Describe() => (Bandwidth ? "bw" : "iops") + (Slope ? "_slope" : "") + ":" + Limit.ToString(CultureInfo.InvariantCulture) + (Percent ? "%" : "");

    /// <summary>Whether a full window of samples meets the criterion.</summary>
    public bool IsMet(IReadOnlyList<double> window)
    {
        int n = window.Count;
        double mean = window.Average();
        double criterion;
        if (Slope)
        {
            // Least squares over x = 0..n-1.
            double sumX = n * (n - 1) / 2.0;
            double sumX2 = (n - 1) * n * ((2 * n) - 1) / 6.0;
            double sumXY = 0;
            for (int i = 0; i < n; i++)
            {
                sumXY += i * window[i];
            }

            double denominator = sumX2 - (sumX * sumX / n);
            double slope = denominator == 0 ? 0 : (sumXY - (sumX * window.Sum() / n)) / denominator;
            criterion = Math.Abs(slope);
        }
        else
        {
            criterion = window.Max(x => Math.Abs(x - mean));
        }

        if (Percent)
        {
            criterion = mean == 0 ? double.PositiveInfinity : 100.0 * criterion / mean;
        }

        return criterion < Limit;
    }
}

/// <summary>Watches the steady-state jobs of a running group and stops each when it is steady.</summary>
internal sealed class SteadyStateMonitor
{
    private readonly List<(JobSpec Job, IReadOnlyList<JobThread> Threads, CancellationTokenSource Stop)> _jobs;

    public SteadyStateMonitor(List<(JobSpec Job, IReadOnlyList<JobThread> Threads, CancellationTokenSource Stop)> jobs) => _jobs = jobs;

    /// <summary>The jobs that stopped because they reached steady state.</summary>
    public HashSet<JobSpec> Attained { get; } = [];

    /// <summary>Samples once a second until every watched thread has finished.</summary>
    public void Run(Func<bool> allFinished)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var previous = _jobs.Select(_ => (Ios: 0L, Bytes: 0L)).ToArray();
        var windows = _jobs.Select(_ => new List<double>()).ToArray();
        long lastSample = start;
        while (!allFinished())
        {
            Thread.Sleep(50);
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            double seconds = (now - lastSample) / (double)System.Diagnostics.Stopwatch.Frequency;
            if (seconds < 1.0)
            {
                continue;
            }

            lastSample = now;
            double elapsed = (now - start) / (double)System.Diagnostics.Stopwatch.Frequency;
            for (int i = 0; i < _jobs.Count; i++)
            {
                var (job, threads, stop) = _jobs[i];
                long ios = threads.Sum(t => t.Ios);
                long bytes = threads.Sum(t => t.Bytes);
                double sample = job.SteadyState.Bandwidth ? (bytes - previous[i].Bytes) / seconds : (ios - previous[i].Ios) / seconds;
                previous[i] = (ios, bytes);
                if (stop.IsCancellationRequested || elapsed < job.SteadyStateRamp.TotalSeconds)
                {
                    continue;
                }

                int size = Math.Max(1, (int)Math.Round(job.SteadyStateDuration.TotalSeconds));
                windows[i].Add(sample);
                if (windows[i].Count > size)
                {
                    windows[i].RemoveAt(0);
                }

                if (windows[i].Count == size && job.SteadyState.IsMet(windows[i]))
                {
                    Attained.Add(job);
                    stop.Cancel();
                }
            }
        }
    }
}
