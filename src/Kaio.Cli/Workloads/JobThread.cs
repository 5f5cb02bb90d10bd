using System.Diagnostics;
// Design: the state one job thread works on and reports into. The thread that runs the worker
// is its only writer; the progress display reads Ios/Bytes and the interval sampler the
// per-direction counts (Counted) — Volatile, written only by the owner, so a plain
// read-modify-write on the owner's side is enough; everything else is read by the runner after
// the thread has been joined.
using Kaio.Cli.Jobs;
using Kaio.Cli.Reporting;
using Kaio.Cli.Verify;

namespace Kaio.Cli.Workloads;

/// <summary>A failure of the workload itself (I/O error, refused engine, bad file); one line, no stack trace.</summary>
internal sealed class WorkloadException : Exception
{
    public WorkloadException(string message) : base(message) { }

    public WorkloadException() { }

    public WorkloadException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The errno behind the failure, when there is one (reported as fio's <c>error</c>).</summary>
    public int Errno { get; init; }
}

/// <summary>Where a runner gets its next request: an offset, a length, whether it changes the file and whether it is a trim.</summary>
internal delegate NextIo NextRequest(out long offset, out int length, out bool isWrite, out bool isTrim);

/// <summary>One runner's loop: issue from <paramref name="next"/> until done or the deadline; record completions from <paramref name="recordFrom"/> on (long.MaxValue: never).</summary>
internal delegate void RunPhase(NextRequest next, Action<long> release, long deadline, long recordFrom);

/// <summary>The state of one of a job's numjobs threads.</summary>
internal sealed class JobThread
{
    private long _ios;
    private long _bytes;
    private long _readIos;
    private long _readBytes;
    private long _writeIos;
    private long _writeBytes;
    private long _trimIos;
    private long _trimBytes;
    private volatile bool _finished;
    private bool _arrived;

    public required JobSpec Job { get; init; }

    public required int Index { get; init; }

    /// <summary>The thread's number in the whole run, from 1 (fio's N in PREFIX_bw.N.log).</summary>
    public int Number { get; init; }

    public required string Path { get; init; }

    public required long RegionStart { get; init; }

    /// <summary>
    /// Several files (nrfiles, filename=a:b, filename_format): the thread's files, in order; the
    /// offsets its source gives are then positions in the files laid end to end, file i holding
    /// [<see cref="FileStarts"/>[i], <see cref="FileStarts"/>[i + 1]) — see <see cref="Locate"/>.
    /// Null: the one file <see cref="Path"/>.
    /// </summary>
    public string[]? Files { get; init; }

    /// <summary>Several files: where each file's region starts among the positions, and (last) their total; file i's region is [i], [i + 1] long minus [i] (equal unless filesize is a range).</summary>
    public long[]? FileStarts { get; init; }

    /// <summary>Several files: the length of file <paramref name="file"/>'s region.</summary>
    public long FileLength(int file) => FileStarts![file + 1] - FileStarts[file];

    /// <summary>Several files: where the region starts in each file (fio's offset).</summary>
    public long FileOffset { get; init; }

    /// <summary>The files to open, in the order <see cref="Locate"/> numbers them.</summary>
    public string[] Paths => Files ?? [Path];

    /// <summary>The path of the file an offset from the thread's source falls in.</summary>
    public string PathOf(long offset) => Files is null ? Path : Files[Locate(offset).File];

    /// <summary>The file (index into <see cref="Paths"/>) and the offset in it of an offset from the thread's source.</summary>
    public (int File, long Offset) Locate(long offset)
    {
        if (Files is null)
        {
            return (0, offset);
        }

        int file = Array.BinarySearch(FileStarts!, offset);
        file = file >= 0 ? file : ~file - 1;
        return (file, FileOffset + offset - FileStarts![file]);
    }

    public required long RegionLength { get; init; }

    /// <summary>Bytes to issue; negative when time based.</summary>
    public required long TotalBytes { get; init; }

    /// <summary>
    /// The last write of each block of the file (index = offset / bs) this run made; 0 = laid out
    /// by this run; -1 = unknown (the file's earlier content). Null unless verifying. Threads of a
    /// verifying job own disjoint slices, so each element has one writer.
    /// </summary>
    public long[]? Generations { get; init; }

    /// <summary>Check blocks of unknown generation too (read jobs verifying a file written earlier).</summary>
    public bool VerifyUnknownBlocks { get; init; }

    /// <summary>After the workload, read back and check every block this thread wrote.</summary>
    public bool VerifyPass { get; init; }

    public CancellationToken Stop { get; init; }

    /// <summary>The group's start gate: the thread sets itself up, arrives, and starts when the whole group does.</summary>
    public required StartGate Gate { get; init; }

    /// <summary>Stopwatch ticks when the gate opened: the start of the group's window (ramp_time counts from it).</summary>
    public long Started { get; private set; }

    /// <summary>Tells the gate this thread is set up, or gave up setting up; once, on the owning thread.</summary>
    public void ArriveAtGate()
    {
        if (!_arrived)
        {
            _arrived = true;
            Gate.Arrive();
        }
    }

    /// <summary>What the thread recorded; replaced by <see cref="ResetStats"/> (latency_target's final window).</summary>
    public ThreadStats Stats { get; private set; } = new();

    /// <summary>Stopwatch ticks of the last <see cref="ResetStats"/>; 0: never.</summary>
    private long _statsFrom;

    /// <summary>
    /// Starts the thread's statistics afresh (fio's reset_all_stats() when latency_target has found
    /// its depth): the report then covers the final window only. On the owning worker thread.
    /// </summary>
    public void ResetStats(long now)
    {
        Stats = new ThreadStats();
        _statsFrom = now;
    }

    /// <summary>This thread's per-I/O logs (write_lat_log, and per-I/O bw/iops logs); null when the job writes none.</summary>
    public JobLogs? Logs { get; init; }

    /// <summary>Stopwatch ticks from which completions are recorded (the gate's opening plus ramp_time); set before the workload starts.</summary>
    public long RecordFrom { get; private set; }

    /// <summary>When a job's recording starts, given when its group's gate opened.</summary>
    public static long RecordStart(long gateOpened, JobSpec job) => gateOpened + ToTicks(job.RampTime ?? TimeSpan.Zero);

    /// <summary>
    /// Records one completed read or write: the stats, the progress and interval counters, and the
    /// latency logs. On the owning worker thread only (or under the runner's lock).
    /// </summary>
    public void RecordIo(bool isWrite, int bytes, long slatNs, long clatNs, long offset, long completedTicks, ushort priority = 0)
    {
        DirectionStats stats = isWrite ? Stats.Write : Stats.Read;
        stats.Record(bytes, slatNs, clatNs);
        if (Job.Priorities.PerCommand)
        {
            // fio's per-priority latencies: clat, or lat with lat_percentiles (stat.c add_clat_sample/add_lat_sample).
            stats.RecordPriority(priority, Job.LatPercentiles ? slatNs + clatNs : clatNs);
        }

        AddProgress(bytes);
        if (isWrite)
        {
            Volatile.Write(ref _writeIos, _writeIos + 1);
            Volatile.Write(ref _writeBytes, _writeBytes + bytes);
        }
        else
        {
            Volatile.Write(ref _readIos, _readIos + 1);
            Volatile.Write(ref _readBytes, _readBytes + bytes);
        }

        Logs?.Record(isWrite ? 1 : 0, bytes, offset, slatNs, clatNs, completedTicks, priority);
    }

    /// <summary>Records one completed trim (rw=trim, randtrim): the stats, the progress, the logs (direction 2).</summary>
    public void RecordTrim(int bytes, long slatNs, long clatNs, long offset, long completedTicks, ushort priority = 0)
    {
        Stats.Trim.Record(bytes, slatNs, clatNs);
        AddProgress(bytes);
        Volatile.Write(ref _trimIos, _trimIos + 1);
        Volatile.Write(ref _trimBytes, _trimBytes + bytes);
        Logs?.Record(2, bytes, offset, slatNs, clatNs, completedTicks, priority);
    }

    /// <summary>Recorded I/Os and bytes of one direction so far (0 read, 1 write, 2 trim); read by the interval sampler.</summary>
    public (long Ios, long Bytes) Counted(int direction) => direction switch
    {
        0 => (Volatile.Read(ref _readIos), Volatile.Read(ref _readBytes)),
        1 => (Volatile.Read(ref _writeIos), Volatile.Read(ref _writeBytes)),
        _ => (Volatile.Read(ref _trimIos), Volatile.Read(ref _trimBytes)),
    };

    private static long ToTicks(TimeSpan time) => (long)(time.TotalSeconds * Stopwatch.Frequency);

    /// <summary>
    /// The shape every runner shares: wait at the group's gate, the measured phase (ramp, then
    /// runtime, both from the moment the gate opened, shared by the group), its runtime recorded, then — when the job verifies and nothing failed — a pass reading back every
    /// block this thread wrote, unrecorded.
    /// </summary>
    public void RunMeasuredThenVerify(RunPhase run, Action? beforeVerify = null)
    {
        OffsetSource source = CreateOffsetSource(trackBusy: Generations is not null);
        ArriveAtGate();
        long started = Gate.WaitOpen();
        Started = started;
        TimeSpan delay = StartDelay();
        if (delay > TimeSpan.Zero)
        {
            // fio's startdelay: the job (its ramp and runtime too) starts this long after its group.
            Stop.WaitHandle.WaitOne(delay);
            started = Stopwatch.GetTimestamp();
        }

        long recordFrom = RecordStart(started, Job);
        RecordFrom = recordFrom;
        Logs?.Start(recordFrom);
        long deadline = Job.Runtime is { } runtime ? recordFrom + ToTicks(runtime) : long.MaxValue;
        run(source.TryNext, source.Release, deadline, recordFrom);
        Logs?.Finish(Stopwatch.GetTimestamp());
        Stats.Runtime = Stopwatch.GetElapsedTime(Math.Min(Math.Max(recordFrom, _statsFrom), Stopwatch.GetTimestamp()));

        if (!VerifyPass || Error is not null || VerifyFailure is not null || Stop.IsCancellationRequested)
        {
            return;
        }

        using IEnumerator<long> written = WrittenBlockOffsets().GetEnumerator();
        NextIo NextWritten(out long offset, out int length, out bool isWrite, out bool isTrim)
        {
            isWrite = false;
            isTrim = false;
            offset = 0;
            length = Job.BlockSize;
            if (!written.MoveNext())
            {
                return NextIo.Done;
            }

            offset = written.Current;
            return NextIo.Ready;
        }

        // fio's do_verify(): each file synced and, with invalidate, its cache dropped, so the read-back comes from the disk.
        int synced = PageCache.SyncForVerify(this);
        if (synced < 0)
        {
            throw new WorkloadException($"{Path}: fsync before verifying failed: {ErrnoText.Describe(-synced)}") { Errno = -synced };
        }

        beforeVerify?.Invoke();
        run(NextWritten, static _ => { }, long.MaxValue, recordFrom: long.MaxValue);
    }

    /// <summary>fio's startdelay for this thread: the value, or a time in its range drawn from the job's seed and the thread's number.</summary>
    public TimeSpan StartDelay()
    {
        (TimeSpan min, TimeSpan max) = Job.StartDelay;
        if (max <= min)
        {
            return min;
        }

        ulong z = Job.Seed + ((ulong)(Index + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        double u = (z >> 11) * (1.0 / (1UL << 53));
        return min + ((max - min) * u);
    }

    public string? Error { get; set; }

    public int ErrorErrno { get; set; }

    public VerifyFailure? VerifyFailure { get; set; }

    public string? EngineName { get; set; }

    public string? EngineReason { get; set; }

    /// <summary>Completed requests so far (progress).</summary>
    public long Ios => Volatile.Read(ref _ios);

    /// <summary>Completed bytes so far (progress).</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Set by the worker thread when it has ended; read by the progress display.</summary>
    public bool Finished
    {
        get => _finished;
        set => _finished = value;
    }

    /// <summary>Called by the owning worker thread only.</summary>
    public void AddProgress(long bytes)
    {
        Volatile.Write(ref _ios, _ios + 1);
        Volatile.Write(ref _bytes, _bytes + bytes);
    }

    /// <summary>Each request's I/O priority (prio, prioclass, cmdprio_*); null when the job sets none.</summary>
    public PriorityPicker? Priorities { get; init; }

    /// <summary>What writes carry when the job generates content (refill_buffers, buffer_compress_percentage, dedupe_percentage); null: the buffers as filled once.</summary>
    public BufferContent? Content { get; init; }

    /// <summary>latency_target: the highest queue depth that met the target, set when the workload ends.</summary>
    public int? LatencyDepth { get; set; }

    /// <summary>The thread's place in its flow group (fio's flow); left when the thread ends.</summary>
    public FlowMember? Flow { get; init; }

    public OffsetSource CreateOffsetSource(bool trackBusy) => new(RegionStart, RegionLength, Job, TotalBytes, Job.Seed, Index, trackBusy, flow: Flow, fileStarts: Files is null ? null : FileStarts, fail: failure =>
        {
            if (Error is null)
            {
                Error = $"{Path}: {failure}";
                ErrorErrno = Errno.EIO;
            }
        });

    /// <summary>The generation a read of <paramref name="offset"/> should find, or null when unknown.</summary>
    public long? ExpectedGeneration(long offset)
    {
        long generation = Generations![offset / Job.BlockSize];
        return generation >= 0 ? generation : null;
    }

    /// <summary>Whether a completed read of <paramref name="offset"/> is to be checked.</summary>
    public bool ShouldVerifyRead(long offset)
        => Job.Verify != VerifyMode.None && Generations is not null && (VerifyUnknownBlocks || Generations[offset / Job.BlockSize] >= 0);

    /// <summary>Records the next write of the block at <paramref name="offset"/> and returns its generation.</summary>
    public long NextGeneration(long offset)
    {
        ref long generation = ref Generations![offset / Job.BlockSize];
        generation = Math.Max(generation, 0) + 1;
        return generation;
    }

    /// <summary>The blocks of this thread's region that this run wrote, in order: the verify pass.</summary>
    public IEnumerable<long> WrittenBlockOffsets()
    {
        int bs = Job.BlockSize;
        for (long offset = RegionStart; offset + bs <= RegionStart + RegionLength; offset += bs)
        {
            if (Generations![offset / bs] >= 1)
            {
                yield return offset;
            }
        }
    }
}
