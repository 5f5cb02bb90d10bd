// Design: runs a list of jobs the way fio does: jobs run concurrently in groups, and a job with
// `stonewall` waits for everything before it and starts a new group (fio's groupid). Each job
// runs numjobs threads; each thread has its own file handle and its own AioContext (or its own
// RandomAccess loops). Files are prepared (laid out) before a group starts; temporary files are
// removed when the run ends, whatever happened. Results are merged per job, or per group with
// group_reporting. Threading: the runner's thread starts and joins the job threads and watches
// their progress counters; all other state is handed over at Join.
using System.Globalization;
using Kaio.Cli.Jobs;
using Kaio.Cli.Reporting;
using Kaio.Cli.Verify;

namespace Kaio.Cli.Workloads;

/// <summary>What a job (or a reporting group) did.</summary>
internal sealed class JobResult
{
    public required string Name { get; init; }

    public required JobSpec Job { get; init; }

    public required int GroupId { get; init; }

    public required string Path { get; init; }

    public required int Threads { get; init; }

    public string Engine { get; set; } = "";

    public string EngineReason { get; set; } = "";

    public ThreadStats Stats { get; } = new();

    public string? Error { get; set; }

    public int ErrorErrno { get; set; }

    public VerifyFailure? VerifyFailure { get; set; }

    /// <summary>
    /// fio's usr_cpu / sys_cpu: percent of one CPU the process used while the group ran (engine
    /// workers and runtime threads included); set only when the job had its group to itself.
    /// </summary>
    public double? UserCpu { get; set; }

    /// <summary>
    /// fio's ctx / majf / minf: the process's context switches and page faults while the group
    /// ran (from /proc/self), given like <see cref="UserCpu"/> only when the job had its group to itself.
    /// </summary>
    public ProcessCounters? ProcessCounters { get; set; }

    /// <inheritdoc cref="UserCpu"/>
    public double? SystemCpu { get; set; }

    /// <summary>When the group's gate opened (fio's job_start); null when no thread of the job was started.</summary>
    public DateTimeOffset? Started { get; set; }

    /// <summary>Each job thread's bandwidth/IOPS samples over time (see <see cref="IntervalSampler"/>), for plots.</summary>
    public List<List<RateSample>> RateSamples { get; } = [];

    /// <summary>A stop signal came before the job started: it did nothing and did not fail.</summary>
    public bool NotRun { get; set; }

    public bool Failed => Error is not null || VerifyFailure is not null;

    /// <summary>The one-line failure, naming the file.</summary>
    public string? FailureMessage => Error ?? VerifyFailure?.Describe(Path);
}

/// <summary>A group of running job threads, for the progress display.</summary>
internal sealed class RunningGroup
{
    public required IReadOnlyList<JobThread> Threads { get; init; }

    public required DateTime Started { get; init; }

    /// <summary>The longest runtime any job of the group may take; null when size-bound only.</summary>
    public TimeSpan? Runtime { get; init; }

    /// <summary>Bytes the group will move when every job is size-bound; 0 otherwise.</summary>
    public long TotalBytes { get; init; }

    public bool AllFinished => Threads.All(t => t.Finished);
}

/// <summary>Shows a running group; returns when <see cref="RunningGroup.AllFinished"/>.</summary>
internal interface IProgressView
{
    void Watch(RunningGroup group);
}

/// <summary>Runs jobs.</summary>
internal sealed class BenchRunner
{
    private readonly string _tempDirectory;
    private readonly Action<string>? _log;
    private readonly IProgressView? _progress;
    private readonly CancellationToken _stop;
    private readonly List<string> _tempFiles = [];
    private int _threadsCreated;
    private int _dedupeGlobalThreads; // dedupe_global: the run's participating threads
    private int _dedupeGlobalNext;

    /// <summary>fio's disk_util of the last run: the devices under its files, over the whole run.</summary>
    public List<DiskUtil> DiskUtil { get; private set; } = [];

    /// <summary>The log files the last run wrote (write_bw_log, write_lat_log, write_iops_log).</summary>
    public List<string> LogFiles { get; } = [];

    private readonly Dictionary<int, FlowGroup> _flows = [];
    private volatile bool _exitAll; // an exitall job with exit_what=all finished: later groups do not run

    public BenchRunner(string tempDirectory, Action<string>? log, IProgressView? progress, CancellationToken stop)
    {
        _tempDirectory = tempDirectory;
        _log = log;
        _progress = progress;
        _stop = stop;
    }

    /// <summary>A new temporary file path in the chosen directory, removed when the run ends.</summary>
    public string NewTempFile(string jobName, string? directory)
    {
        string safe = string.Concat(jobName.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-'));
        string path = System.IO.Path.Combine(directory ?? _tempDirectory, string.Create(CultureInfo.InvariantCulture,
            $"kaio-{safe}-{Environment.ProcessId}-{_tempFiles.Count}.tmp"));
        _tempFiles.Add(path);
        return path;
    }

    /// <summary>Runs the jobs group by group; temporary files are removed before it returns.</summary>
    public List<JobResult> Run(IReadOnlyList<JobSpec> jobs)
    {
        var results = new List<JobResult>();
        _dedupeGlobalThreads = jobs.Where(j => j.DedupeGlobal && j.DedupePercentage > 0).Sum(j => j.NumJobs);
        DiskUtil.Snapshot disks = Reporting.DiskUtil.Snapshot.Take(jobs.Select(j => j.FileName ?? j.FileNames?[0] ?? System.IO.Path.Combine(j.Directory ?? _tempDirectory, "x")).Distinct());
        try
        {
            int groupId = 0;
            var group = new List<JobSpec>();
            foreach (JobSpec job in jobs)
            {
                // wait_for naming a job of the running group: start after that group (fio waits for that job alone).
                bool waits = job.WaitFor is { } waitFor && group.Any(j => j.Name == waitFor);
                if ((job.Stonewall || waits) && group.Count > 0)
                {
                    results.AddRange(RunGroup(group, ref groupId));
                    group.Clear();
                }

                group.Add(job);
            }

            if (group.Count > 0)
            {
                results.AddRange(RunGroup(group, ref groupId));
            }

            DiskUtil = disks.Finish();
        }
        finally
        {
            foreach (string path in _tempFiles)
            {
                try
                {
                    File.Delete(path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _log?.Invoke($"could not remove {path}: {e.Message}");
                }
            }
        }

        return results;
    }

    /// <summary>Runs one group; <paramref name="nextGroupId"/> is its first reporting group and is left at the next free one (new_group starts another).</summary>
    private List<JobResult> RunGroup(List<JobSpec> jobs, ref int nextGroupId)
    {
        int groupId = nextGroupId;

        // exitall: the first exitall job to finish stops the group's other jobs (fio's exit_what=group).
        using var groupStop = CancellationTokenSource.CreateLinkedTokenSource(_stop);
        var steadyJobStops = new Dictionary<JobSpec, CancellationTokenSource>();
        using var gate = new StartGate(jobs.Sum(j => j.NumJobs));
        var perJob = new List<(JobSpec Job, string Path, JobThread[] Threads, string? Error, int Errno)>();
        var notRun = new HashSet<JobSpec>();
        var prepared = new Dictionary<string, (long Size, long[]? Generations, int BlockSize)>(StringComparer.Ordinal);
        foreach (JobSpec listed in jobs)
        {
            string path = listed.MultiFile ? "" : listed.FilePath ?? NewTempFile(listed.Name, listed.Directory);
            JobSpec job = listed.FileAppend ? AppendTo(listed, path) : listed;
            if (job.FileSizeMax is not null && !job.MultiFile)
            {
                // filesize=LOW-HIGH on one file: it gets one size from the range.
                job = job.Clone();
                job.FileSize = ExistingSizeInRange(listed, path) ?? DrawFileSize(listed, 0, 0);
                job.FileSizeMax = null;
            }

            try
            {
                if (_stop.IsCancellationRequested || _exitAll)
                {
                    notRun.Add(job);
                    throw new WorkloadException("not run: stopped before it started");
                }

                if (job.MultiFile)
                {
                    JobThread[] multi = CreateMultiFileThreads(job, prepared, gate, groupStop.Token);
                    path = string.Join(", ", multi.SelectMany(t => t.Paths).Distinct());
                    perJob.Add((job, path, job.CreateOnly ? [] : multi, null, 0));
                    ArriveIfCreateOnly(job, gate);
                    continue;
                }

                long size;
                long[]? generations;
                // Jobs of one group sharing a file share its layout (and, verifying, its generations).
                if (prepared.TryGetValue(path, out var earlier)
                    && job.Offset == 0 && job.OffsetIncrement == 0
                    && (earlier.Generations is null) == (job.Verify == VerifyMode.None && !job.VerifyOnly)
                    && (job.RegionSize ?? earlier.Size) <= earlier.Size
                    && (earlier.Generations is null || earlier.BlockSize == job.BlockSize))
                {
                    (size, generations, _) = earlier;
                    size = Math.Min(size, job.RegionSize ?? size) / job.BlockSize * job.BlockSize;
                }
                else
                {
                    size = TargetFile.Prepare(job, path, _log, _stop, out generations);
                    if (TargetFile.LaysOutByWriting(job))
                    {
                        prepared[path] = (size, generations, job.BlockSize); // a layout without data is each job's own, as in fio
                    }
                }

                CancellationToken stop = groupStop.Token;
                if (job.SteadyStateDuration > TimeSpan.Zero)
                {
                    var jobStop = CancellationTokenSource.CreateLinkedTokenSource(groupStop.Token);
                    steadyJobStops.Add(job, jobStop);
                    stop = jobStop.Token;
                }

                perJob.Add((job, path, job.CreateOnly ? [] : CreateThreads(job, path, size, generations, gate, stop), null, 0));
                ArriveIfCreateOnly(job, gate);
            }
            catch (WorkloadException e)
            {
                if (_stop.IsCancellationRequested)
                {
                    // Stopped while laying out: the job never started.
                    notRun.Add(job);
                }

                perJob.Add((job, path, [], notRun.Contains(job) ? null : e.Message, e.Errno));
                for (int i = 0; i < job.NumJobs; i++)
                {
                    gate.Arrive();
                }
            }
        }

        JobThread[] all = [.. perJob.SelectMany(j => j.Threads)];
        var threads = all.Select(t => new Thread(() =>
        {
            ThreadMain(t);
            if (t.Job.ExitAll)
            {
                _exitAll |= t.Job.ExitWhat == ExitWhat.All;
                groupStop.Cancel();
            }
        })
        {
            IsBackground = true,
            Name = "kaio " + t.Job.Name + "." + t.Index.ToString(CultureInfo.InvariantCulture),
        }).ToList();

        // invalidate (fio's default): the files' regions leave the page cache after every layout of the group, before any I/O.
        PageCache.Invalidate(all, _log);
        threads.ForEach(t => t.Start());

        // Every thread sets itself up (file handle, buffers, context), then the group starts at once.
        gate.WaitAllArrived(_stop);
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        ProcessCounters? countersBefore = ProcessCounters.Read();
        TimeSpan userBefore = process.UserProcessorTime;
        TimeSpan systemBefore = process.PrivilegedProcessorTime;
        DateTimeOffset started = DateTimeOffset.UtcNow;
        long wallBefore = gate.Open();
        var running = new RunningGroup
        {
            Threads = all,
            Started = started.UtcDateTime,
            Runtime = perJob.Where(j => j.Threads.Length > 0).Select(j => j.Job.Runtime + (j.Job.RampTime ?? TimeSpan.Zero)).DefaultIfEmpty(null).Max(),
            TotalBytes = perJob.All(j => !j.Job.TimeBased) ? all.Sum(t => Math.Max(0, t.TotalBytes)) : 0,
        };
        using var sampler = new IntervalSampler(all, wallBefore);
        if (_progress is not null && all.Length > 0)
        {
            _progress.Watch(running);
        }

        // steadystate: a monitor samples the jobs that have ss_dur once a second and stops each when it is steady.
        SteadyStateMonitor? monitor = null;
        Thread? monitorThread = null;
        if (steadyJobStops.Count > 0)
        {
            monitor = new SteadyStateMonitor([.. perJob.Where(j => steadyJobStops.ContainsKey(j.Job)).Select(j => (j.Job, (IReadOnlyList<JobThread>)j.Threads, steadyJobStops[j.Job]))]);
            monitorThread = new Thread(() => monitor.Run(() => all.All(t => t.Finished))) { IsBackground = true, Name = "kaio steadystate" };
            monitorThread.Start();
        }

        threads.ForEach(t => t.Join());
        sampler.Dispose();
        for (int i = 0; i < all.Length; i++)
        {
            if (all[i].Logs is { } logs)
            {
                LogFiles.AddRange(logs.WriteFiles());
            }
        }

        monitorThread?.Join();
        foreach (var (job, _, jobThreads, _, _) in perJob.Where(j => j.Job.LatencyTarget is not null && j.Threads.Length > 0))
        {
            int depth = jobThreads.Max(t => t.LatencyDepth ?? 0);
            _log?.Invoke(depth > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{job.Name}: latency_target: queue depth {depth} met {FioValues.FormatTime(job.LatencyTarget!.Value)} for {job.LatencyPercentile}% of I/Os")
                : $"{job.Name}: latency_target: no queue depth met {FioValues.FormatTime(job.LatencyTarget!.Value)}");
        }

        // unlink (and unlink_each_loop, with kaio's one loop): a job's file goes when the job is done (after the whole group: jobs of a group may share it).
        foreach (var (job, _, jobThreads, _, _) in perJob.Where(j => (j.Job.Unlink || j.Job.UnlinkEachLoop) && j.Threads.Length > 0))
        {
            foreach (string path in jobThreads.SelectMany(t => t.Paths).Distinct())
            {
                try
                {
                    File.Delete(path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _log?.Invoke($"{job.Name}: could not remove {path} (unlink): {e.Message}");
                }
            }
        }
        foreach (CancellationTokenSource jobStop in steadyJobStops.Values)
        {
            jobStop.Dispose();
        }

        if (monitor is { Attained.Count: > 0 })
        {
            foreach (JobSpec job in monitor.Attained)
            {
                _log?.Invoke($"{job.Name}: steady state reached ({job.SteadyState.Describe()} over {FioValues.FormatTime(job.SteadyStateDuration)})");
            }
        }
        ProcessCounters? counters = ProcessCounters.Read() - countersBefore;
        process.Refresh();
        double wall = System.Diagnostics.Stopwatch.GetElapsedTime(wallBefore).TotalSeconds;
        double? userCpu = wall > 0 ? (process.UserProcessorTime - userBefore).TotalSeconds * 100 / wall : null;
        double? systemCpu = wall > 0 ? (process.PrivilegedProcessorTime - systemBefore).TotalSeconds * 100 / wall : null;
        bool cpuIsTheJobs = perJob.Count(j => j.Threads.Length > 0) == 1;

        var results = new List<JobResult>();
        foreach (var (job, path, jobThreads, error, errno) in perJob)
        {
            if (job.NewGroup && results.Count > 0)
            {
                groupId++;
            }

            var result = new JobResult { Name = job.Name, Job = job, GroupId = groupId, Path = path, Threads = jobThreads.Length, Error = error, ErrorErrno = error is null ? 0 : errno, NotRun = notRun.Contains(job) };
            if (jobThreads.Length > 0)
            {
                result.Started = started;
            }

            if (cpuIsTheJobs && jobThreads.Length > 0)
            {
                (result.UserCpu, result.SystemCpu) = (userCpu, systemCpu);
                result.ProcessCounters = counters;
            }

            if (error is null && !result.NotRun)
            {
                Merge(result, jobThreads);
                result.RateSamples.AddRange(jobThreads.Select(t => sampler.Samples[Array.IndexOf(all, t)]));
            }
            else
            {
                result.Engine = job.IoEngine.Name;
            }

            results.Add(result);
        }

        nextGroupId = groupId + 1;
        return [.. results.GroupBy(r => r.GroupId).SelectMany(g => MergeReportingGroup([.. g], userCpu, systemCpu, counters))];
    }

    /// <summary>
    /// fio's file_append: the job as it runs, its offset the file's size before the job (fio's
    /// get_start_offset(): offset_increment does not apply); a missing file or a device: 0.
    /// </summary>
    private static JobSpec AppendTo(JobSpec job, string path)
    {
        long length = 0;
        try
        {
            if (!TargetFile.IsDevice(path) && new FileInfo(path) is { Exists: true } info)
            {
                length = info.Length;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            length = 0; // Prepare names the file's problem
        }

        JobSpec appending = job.Clone();
        appending.Offset = length;
        appending.OffsetIncrement = 0;
        return appending;
    }

    /// <summary>create_only: the job's files are laid out; its threads are never made, so the gate is told they will not come.</summary>
    private void ArriveIfCreateOnly(JobSpec job, StartGate gate)
    {
        if (job.CreateOnly)
        {
            _log?.Invoke($"{job.Name}: create_only: files laid out, no I/O");
            for (int i = 0; i < job.NumJobs; i++)
            {
                gate.Arrive();
            }
        }
    }

    /// <summary>With group_reporting, a reporting group's jobs as one result.</summary>
    private static List<JobResult> MergeReportingGroup(List<JobResult> results, double? userCpu, double? systemCpu, ProcessCounters? counters)
    {
        if (results.Any(r => r.Job.GroupReporting) && results.Count > 1)
        {
            var merged = new JobResult
            {
                Name = results[0].Name,
                Job = results[0].Job,
                GroupId = results[0].GroupId,
                Path = string.Join(", ", results.Select(r => r.Path).Distinct()),
                Threads = results.Sum(r => r.Threads),
                Engine = string.Join(", ", results.Select(r => r.Engine).Distinct()),
                EngineReason = string.Join("; ", results.Select(r => r.EngineReason).Distinct()),
                UserCpu = userCpu,
                SystemCpu = systemCpu,
                ProcessCounters = counters,
                Started = results.Select(r => r.Started).FirstOrDefault(s => s is not null),
                NotRun = results.All(r => r.NotRun),
            };
            foreach (JobResult result in results)
            {
                merged.Stats.Merge(result.Stats);
                merged.RateSamples.AddRange(result.RateSamples);
                merged.Error ??= result.Error;
                if (merged.ErrorErrno == 0)
                {
                    merged.ErrorErrno = result.ErrorErrno;
                }

                merged.VerifyFailure ??= result.VerifyFailure;
            }

            return [merged];
        }

        return results;
    }

    internal JobThread[] CreateThreads(JobSpec job, string path, long size, long[]? generations, StartGate gate, CancellationToken? stop = null)
    {
        int bs = job.BlockSize;
        bool verifying = generations is not null;
        bool writes = job.ReadWrite.HasWrites() && !job.VerifyOnly;

        // Verifying writers own disjoint slices: two threads writing one block would leave its
        // final content to the order of their completions.
        bool slice = verifying && writes && job.NumJobs > 1;
        long sliceLength = slice ? size / job.NumJobs / bs * bs : size;
        if (sliceLength < bs)
        {
            throw new WorkloadException($"{path}: size={FioValues.FormatSize(size)} is too small to give each of numjobs={job.NumJobs} threads a block");
        }

        // With filesize, size is the bytes to move (fio); io_size says it either way.
        long bytes = job.IoSize ?? (job.FileSize is not null && job.Size is { } total ? total : sliceLength);
        var threads = new JobThread[job.NumJobs];
        for (int i = 0; i < threads.Length; i++)
        {
            threads[i] = new JobThread
            {
                Job = job,
                Index = i,
                Number = ++_threadsCreated,
                Logs = JobLogs.For(job, _threadsCreated),
                Path = path,
                RegionStart = job.Offset + (i * job.OffsetIncrement) + (slice ? i * sliceLength : 0),
                RegionLength = sliceLength,
                TotalBytes = job.TimeBased ? -1 : (job.FixedBlockSize ? bytes / bs * bs : bytes) * job.Loops,
                Generations = generations,
                VerifyUnknownBlocks = verifying && !writes,
                VerifyPass = verifying && writes && job.DoVerify,
                Stop = stop ?? _stop,
                Flow = job.Flow == 0 ? null : FlowFor(job.FlowId).Join(Math.Abs(job.Flow)),
                Priorities = PriorityPicker.For(job, i),
                Content = BufferContent.For(job, _threadsCreated, sliceLength, job.DedupeGlobal && _dedupeGlobalThreads > 1 ? new DedupeShare(_dedupeGlobalNext++ % _dedupeGlobalThreads, _dedupeGlobalThreads) : null),
                Gate = gate,
            };
        }

        return threads;
    }

    /// <summary>
    /// A job with several files (nrfiles, filename=a:b, filename_format): each thread's files —
    /// the named ones, shared by all threads, or files named by filename_format (fio's default
    /// $jobname.$jobnum.$filenum; without a format kaio's temporary files) — laid out, each
    /// filesize or size / files long; the thread moves size (or io_size) over all of them.
    /// </summary>
    private JobThread[] CreateMultiFileThreads(JobSpec job, Dictionary<string, (long Size, long[]? Generations, int BlockSize)> prepared, StartGate gate, CancellationToken stop)
    {
        int bs = job.BlockSize;
        int count = job.FileCount;
        long? perFile = job.FileSize ?? (job.Size is { } size ? size / count : null);
        if (perFile is { } wanted && wanted < bs)
        {
            throw new WorkloadException($"{job.Name}: size={FioValues.FormatSize(job.Size ?? wanted)} over {count} files leaves less than bs={FioValues.FormatSize(bs)} for each");
        }

        bool verifying = job.Verify != VerifyMode.None || job.VerifyOnly;
        bool writes = job.ReadWrite.HasWrites() && !job.VerifyOnly;
        JobSpec layout = job.Clone();
        layout.FileSize = null;
        layout.FileSizeMax = null;
        layout.NumJobs = 1;
        var threads = new JobThread[job.NumJobs];
        var drawn = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < threads.Length; i++)
        {
            string[] paths = new string[count];
            for (int f = 0; f < count; f++)
            {
                paths[f] = FilePath(job, i, f);
            }

            // Each file's region: filesize, a size drawn from filesize's range (a file shared by
            // the job's threads keeps the size it got first), or size / files.
            long[] lengths = new long[count];
            var fileGenerations = new long[]?[count];
            for (int f = 0; f < count; f++)
            {
                string path = paths[f];
                long? fileSize = perFile;
                if (job.FileSizeMax is not null)
                {
                    fileSize = drawn.TryGetValue(path, out long shared) ? shared : ExistingSizeInRange(job, path) ?? DrawFileSize(job, i, f);
                    drawn[path] = fileSize.Value;
                }

                long laidOut;
                if (prepared.TryGetValue(path, out var earlier) && (fileSize ?? 0) <= earlier.Size && (earlier.Generations is not null || !verifying))
                {
                    (laidOut, fileGenerations[f]) = (earlier.Size, earlier.Generations);
                }
                else
                {
                    string? parent = System.IO.Path.GetDirectoryName(path);
                    if (!string.IsNullOrEmpty(parent))
                    {
                        System.IO.Directory.CreateDirectory(parent); // fio: a format's directories are created
                    }

                    layout.Size = fileSize;
                    laidOut = TargetFile.Prepare(layout, path, _log, _stop, out fileGenerations[f]);
                    if (TargetFile.LaysOutByWriting(layout))
                    {
                        prepared[path] = (laidOut, fileGenerations[f], bs);
                    }
                }

                lengths[f] = Math.Min(laidOut, fileSize ?? long.MaxValue) / bs * bs;
            }

            if (job.FileSizeMax is null)
            {
                // One size for all: the shortest file's (a named file may be shorter than size / files).
                Array.Fill(lengths, lengths.Min());
            }

            long[] starts = new long[count + 1];
            for (int f = 0; f < count; f++)
            {
                starts[f + 1] = starts[f] + lengths[f];
            }

            long total = starts[count];

            // Verifying: the generations of the files' blocks, laid end to end as the source's offsets are.
            long[]? generations = null;
            if (verifying)
            {
                generations = new long[total / bs];
                for (int f = 0; f < count; f++)
                {
                    Array.Copy(fileGenerations[f]!, job.Offset / bs, generations, starts[f] / bs, lengths[f] / bs);
                }
            }

            long bytes = job.IoSize ?? job.Size ?? total;
            threads[i] = new JobThread
            {
                Job = job,
                Index = i,
                Number = ++_threadsCreated,
                Logs = JobLogs.For(job, _threadsCreated),
                Path = paths[0],
                Files = paths,
                FileStarts = starts,
                FileOffset = job.Offset,
                RegionStart = 0,
                RegionLength = total,
                TotalBytes = job.TimeBased ? -1 : (job.FixedBlockSize ? bytes / bs * bs : bytes) * job.Loops,
                Generations = generations,
                VerifyUnknownBlocks = verifying && !writes,
                VerifyPass = verifying && writes && job.DoVerify,
                Stop = stop,
                Flow = job.Flow == 0 ? null : FlowFor(job.FlowId).Join(Math.Abs(job.Flow)),
                Priorities = PriorityPicker.For(job, i),
                Content = BufferContent.For(job, _threadsCreated, total, job.DedupeGlobal && _dedupeGlobalThreads > 1 ? new DedupeShare(_dedupeGlobalNext++ % _dedupeGlobalThreads, _dedupeGlobalThreads) : null),
                Gate = gate,
            };
        }

        return threads;
    }

    /// <summary>
    /// filesize=LOW-HIGH (fio's get_rand_file_size()): a size in [LOW, HIGH), rounded down to the
    /// job's smallest block size; the same for the same seed, thread and file.
    /// </summary>
    internal static long DrawFileSize(JobSpec job, int thread, int file)
    {
        long low = job.FileSize!.Value;
        long high = job.FileSizeMax!.Value;
        ulong state = job.Seed ^ 0x5DEECE66DUL ^ ((ulong)thread << 40) ^ (ulong)file;
        state += 0x9E3779B97F4A7C15UL;
        ulong z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        long size = low + (long)((UInt128)z * (ulong)(high - low) >> 64);
        return Math.Max(size - (size % job.MinBlockSize), job.MinBlockSize);
    }

    /// <summary>filesize=LOW-HIGH: an existing regular file whose size is in the range keeps it (fio's setup_files()); null: draw one.</summary>
    private static long? ExistingSizeInRange(JobSpec job, string path)
    {
        try
        {
            return !TargetFile.IsDevice(path) && new FileInfo(path) is { Exists: true } info && info.Length >= job.FileSize && info.Length <= job.FileSizeMax
                ? info.Length
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // Prepare names the file's problem
        }
    }

    /// <summary>File <paramref name="file"/> of thread <paramref name="thread"/> of a several-files job.</summary>
    private string FilePath(JobSpec job, int thread, int file)
    {
        string? name = job.FileNames?[file];
        if (name is null && job.FileNameFormat is null)
        {
            return NewTempFile(string.Create(CultureInfo.InvariantCulture, $"{job.Name}.{thread}.{file}"), job.Directory);
        }

        name ??= job.FileNameFormat!
            .Replace("$jobname", job.Name, StringComparison.Ordinal)
            .Replace("$jobnum", thread.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("$filenum", file.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return job.Directory is { } directory && !System.IO.Path.IsPathRooted(name) ? System.IO.Path.Combine(directory, name) : name;
    }

    private FlowGroup FlowFor(int id)
    {
        if (!_flows.TryGetValue(id, out FlowGroup? group))
        {
            group = new FlowGroup();
            _flows[id] = group;
        }

        return group;
    }

    private static void ThreadMain(JobThread thread)
    {
        try
        {
            if (thread.Job.IoEngine.IsBaseline)
            {
                AwaitedWorker.RunRandomAccess(thread);
            }
            else if (thread.Job.IoEngine.Awaited)
            {
                AwaitedWorker.RunKaio(thread);
            }
            else
            {
                new KaioWorker(thread).Run();
            }
        }
        catch (WorkloadException e)
        {
            Fail(thread, e.Message, e.Errno);
        }
        catch (AioException e)
        {
            Fail(thread, $"{thread.Path}: {e.Message}", e.Errno);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WorkloadException described = TargetFile.Describe(e, thread.Path, "I/O");
            Fail(thread, described.Message, described.Errno);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Fail(thread, $"{thread.Path}: internal error: {e.GetType().Name}: {e.Message}", Errno.EIO);
        }
        finally
        {
            thread.Flow?.Leave();
            thread.ArriveAtGate();
            thread.Finished = true;
        }
    }

    private static void Fail(JobThread thread, string message, int errno)
    {
        if (thread.Error is null)
        {
            thread.Error = message;
            thread.ErrorErrno = errno;
        }
    }

    private static void Merge(JobResult result, JobThread[] threads)
    {
        foreach (JobThread thread in threads)
        {
            result.Stats.Merge(thread.Stats);
            if (result.Error is null && thread.Error is not null)
            {
                result.Error = thread.Error;
                result.ErrorErrno = thread.ErrorErrno;
            }

            result.VerifyFailure ??= thread.VerifyFailure;
        }

        JobThread? first = threads.FirstOrDefault(t => t.EngineName is not null);
        result.Engine = first?.EngineName ?? result.Job.IoEngine.Name;
        result.EngineReason = first?.EngineReason ?? "";
    }
}
