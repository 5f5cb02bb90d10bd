using System.Globalization;
using Kaio.Cli.Verify;

namespace Kaio.Cli.Jobs;

/// <summary>fio's <c>rw</c>: the direction and pattern of a job's I/O.</summary>
internal enum ReadWriteMode
{
    /// <summary><c>read</c>: sequential reads.</summary>
    Read,
    /// <summary><c>write</c>: sequential writes.</summary>
    Write,
    /// <summary><c>randread</c>: random reads.</summary>
    RandRead,
    /// <summary><c>randwrite</c>: random writes.</summary>
    RandWrite,
    /// <summary><c>rw</c> / <c>readwrite</c>: sequential mixed reads and writes.</summary>
    ReadWrite,
    /// <summary><c>randrw</c>: random mixed reads and writes.</summary>
    RandReadWrite,
    /// <summary><c>trim</c>: sequential trims (kaio punches holes: fallocate PUNCH_HOLE | KEEP_SIZE).</summary>
    Trim,
    /// <summary><c>randtrim</c>: random trims.</summary>
    RandTrim,
    /// <summary><c>trimwrite</c>: each block trimmed, then written, sequentially.</summary>
    TrimWrite,
    /// <summary><c>randtrimwrite</c>: each block trimmed, then written, at random offsets.</summary>
    RandTrimWrite,
}

/// <summary>Per-write durability asked with fio's <c>sync</c> / <c>dsync</c>, carried as RWF_SYNC / RWF_DSYNC.</summary>
internal enum SyncMode
{
    /// <summary>No per-write durability.</summary>
    None,
    /// <summary>RWF_DSYNC: data durable before the write completes.</summary>
    Dsync,
    /// <summary>RWF_SYNC: data and metadata durable before the write completes.</summary>
    Sync,
}

/// <summary>The checksum written into each block's header when verifying.</summary>
internal enum VerifyMode
{
    /// <summary>No verification.</summary>
    None,
    /// <summary>XxHash64 (the default for <c>verify=1</c>).</summary>
    XxHash64,
    /// <summary>CRC-64 (ECMA-182).</summary>
    Crc64,
    /// <summary>CRC-32C (Castagnoli), fio's crc32c / crc32c-intel.</summary>
    Crc32c,
    /// <summary>CRC-32 (IEEE 802.3).</summary>
    Crc32,
    /// <summary>MD5 (the first 64 bits of the digest are kept).</summary>
    Md5,
    /// <summary>SHA-1 (first 64 bits kept).</summary>
    Sha1,
    /// <summary>SHA-256 (first 64 bits kept).</summary>
    Sha256,
    /// <summary>SHA-512 (first 64 bits kept).</summary>
    Sha512,
}

internal static class VerifyModeExtensions
{
    /// <summary>fio's name for the checksum.</summary>
    public static string FioName(this VerifyMode mode) => mode switch
    {
        VerifyMode.XxHash64 => "xxhash",
        VerifyMode.None => "0",
        _ => mode.ToString().ToLowerInvariant(),
    };
}

internal static class ReadWriteModeExtensions
{
    public static bool IsRandom(this ReadWriteMode mode) => mode is ReadWriteMode.RandRead or ReadWriteMode.RandWrite or ReadWriteMode.RandReadWrite or ReadWriteMode.RandTrim or ReadWriteMode.RandTrimWrite;

    public static bool HasReads(this ReadWriteMode mode) => mode is ReadWriteMode.Read or ReadWriteMode.RandRead or ReadWriteMode.ReadWrite or ReadWriteMode.RandReadWrite;

    /// <summary>Whether the job changes the file: writes or trims (it is opened for writing).</summary>
    public static bool HasWrites(this ReadWriteMode mode) => !mode.HasReads() || mode is ReadWriteMode.ReadWrite or ReadWriteMode.RandReadWrite;

    /// <summary>Whether the job writes data (all changing modes but trim and randtrim).</summary>
    public static bool HasDataWrites(this ReadWriteMode mode) => mode.HasWrites() && mode is not (ReadWriteMode.Trim or ReadWriteMode.RandTrim);

    /// <summary>Whether the job trims (punches holes).</summary>
    public static bool HasTrims(this ReadWriteMode mode) => mode is ReadWriteMode.Trim or ReadWriteMode.RandTrim or ReadWriteMode.TrimWrite or ReadWriteMode.RandTrimWrite;

    public static string FioName(this ReadWriteMode mode) => mode switch
    {
        ReadWriteMode.Read => "read",
        ReadWriteMode.Write => "write",
        ReadWriteMode.RandRead => "randread",
        ReadWriteMode.RandWrite => "randwrite",
        ReadWriteMode.ReadWrite => "rw",
        ReadWriteMode.Trim => "trim",
        ReadWriteMode.RandTrim => "randtrim",
        ReadWriteMode.TrimWrite => "trimwrite",
        ReadWriteMode.RandTrimWrite => "randtrimwrite",
        _ => "randrw",
    };
}

/// <summary>fio's rate limits and thinktime; per direction, index 0 reads, 1 writes.</summary>
internal sealed record RateLimits
{
    public long[] Bytes { get; init; } = [0, 0];
    public long[] Iops { get; init; } = [0, 0];
    public long[] MinBytes { get; init; } = [0, 0];
    public long[] MinIops { get; init; } = [0, 0];
    public bool Poisson { get; init; }
    public TimeSpan ThinkTime { get; init; }

    public bool Any => Bytes.Any(v => v > 0) || Iops.Any(v => v > 0) || MinBytes.Any(v => v > 0) || MinIops.Any(v => v > 0) || ThinkTime > TimeSpan.Zero;
}

/// <summary>fio's file_service_type: which of a job thread's files the next request goes to.</summary>
internal enum FileService
{
    /// <summary>Each file in turn (fio's default).</summary>
    RoundRobin,
    /// <summary>One file until its region is done, then the next.</summary>
    Sequential,
    /// <summary>A file drawn at random.</summary>
    Random,
    /// <summary>A file drawn by <see cref="JobSpec.FileDistribution"/> (zipf, pareto, normal), for every request.</summary>
    Distribution,
}

/// <summary>fio's fallocate: how a file's space is reserved when it is laid out (filesetup.c fallocate_file()).</summary>
internal enum FallocateChoice
{
    /// <summary><c>none</c> (<c>0</c>): nothing reserved.</summary>
    None,
    /// <summary><c>native</c> (fio's default on Linux): fallocate(2), mode 0; a failure falls back to none.</summary>
    Native,
    /// <summary><c>posix</c> (<c>1</c>): posix_fallocate(3); a failure is reported and the job goes on.</summary>
    Posix,
    /// <summary><c>keep</c>: fallocate(2) with FALLOC_FL_KEEP_SIZE; a failure fails the job.</summary>
    Keep,
    /// <summary><c>truncate</c>: ftruncate(2) to the final size; a failure fails the job.</summary>
    Truncate,
}

/// <summary>fio's exit_what: which jobs an exitall job stops when it finishes.</summary>
internal enum ExitWhat
{
    /// <summary>The jobs running with it (fio's default, <c>group</c>).</summary>
    Group,
    /// <summary>The jobs of its stonewall group (in kaio the same as <see cref="Group"/>).</summary>
    Stonewall,
    /// <summary>Every job, including those not started yet.</summary>
    All,
}

/// <summary>
/// One job: what fio calls a job section, after [global] and the section's own options were applied.
/// Defaults are fio's, except <see cref="IoEngine"/> (kaio's best engine) and <see cref="Seed"/>.
/// </summary>
internal sealed class JobSpec
{
    /// <summary>fio's default <c>randseed</c>.</summary>
    public const ulong DefaultSeed = 0x89;

    public string Name { get; set; } = "kaio";
    public string? Description { get; set; }
    public ReadWriteMode ReadWrite { get; set; } = ReadWriteMode.Read;

    /// <summary>
    /// The largest request the job issues in the directions it uses (buffers are this big);
    /// setting it is fio's <c>bs=N</c>: that size, fixed, for every direction.
    /// </summary>
    public int BlockSize
    {
        get => Math.Max(Math.Max(ReadWrite.HasReads() ? _sizes[0].Max : 0, ReadWrite.HasDataWrites() ? _sizes[1].Max : 0), ReadWrite.HasTrims() ? _sizes[2].Max : 0);
        set => _sizes = [BlockSizeChoice.Fixed(value), BlockSizeChoice.Fixed(value), BlockSizeChoice.Fixed(value)];
    }

    private BlockSizeChoice[] _sizes = [BlockSizeChoice.Fixed(BlockSizeChoice.Default), BlockSizeChoice.Fixed(BlockSizeChoice.Default), BlockSizeChoice.Fixed(BlockSizeChoice.Default)];
    private int[] _align = [0, 0, 0];

    /// <summary>How requests of <paramref name="direction"/> choose their size (bs, bsrange, bssplit).</summary>
    public BlockSizeChoice Sizes(Direction direction) => _sizes[(int)direction];

    /// <summary>Sets the three directions' size choices (fio's comma-separated bs, bsrange, bssplit).</summary>
    public void SetSizes(BlockSizeChoice[] sizes) => _sizes = [.. sizes];

    /// <summary>Sets fio's blockalign per direction (0: the direction's smallest block size).</summary>
    public void SetAlignment(int[] align) => _align = [.. align];

    /// <summary>fio's blockalign: random offsets of <paramref name="direction"/> are multiples of this.</summary>
    public int Alignment(Direction direction) => _align[(int)direction] > 0 ? _align[(int)direction] : _sizes[(int)direction].Min;

    /// <summary>Whether every request the job issues has the same size.</summary>
    public bool FixedBlockSize
        => (!ReadWrite.HasReads() || _sizes[0].IsFixed) && (!ReadWrite.HasDataWrites() || _sizes[1].IsFixed) && (!ReadWrite.HasTrims() || _sizes[2].IsFixed)
            && (!ReadWrite.HasReads() || !ReadWrite.HasDataWrites() || _sizes[0].Min == _sizes[1].Min)
            && (!ReadWrite.HasTrims() || !ReadWrite.HasDataWrites() || _sizes[1].Min == _sizes[2].Min);

    /// <summary>The smallest request the job issues.</summary>
    public int MinBlockSize => Math.Min(Math.Min(ReadWrite.HasReads() ? _sizes[0].Min : int.MaxValue, ReadWrite.HasDataWrites() ? _sizes[1].Min : int.MaxValue), ReadWrite.HasTrims() ? _sizes[2].Min : int.MaxValue);

    /// <summary>fio's random_distribution.</summary>
    public RandomDistribution Distribution { get; set; } = RandomDistribution.Uniform;

    /// <summary>rw's modifier on sequential jobs (<c>rw=write:4k</c>): bytes added between requests; negative goes backwards.</summary>
    public long RwSkip { get; set; }

    /// <summary>rw's modifier on random jobs (<c>rw=randread:8</c>): requests per random offset, sequential in between.</summary>
    public int RandomRun { get; set; }
    public int IoDepth { get; set; } = 1;

    /// <summary>The region of the file the job works on and, unless time based, the bytes each job thread moves; null: the file's size.</summary>
    public long? Size { get; set; }

    /// <summary>fio's size=N%: the region is this percent of the existing file (<see cref="Size"/> is then null).</summary>
    public double? SizePercent { get; set; }

    /// <summary>The longest a job runs; null: until <see cref="Size"/> is done.</summary>
    public TimeSpan? Runtime { get; set; }
    public bool TimeBased { get; set; }
    public bool Direct { get; set; }
    public IoEngineChoice IoEngine { get; set; } = IoEngineChoice.Auto;
    public int NumJobs { get; set; } = 1;
    public int RwMixRead { get; set; } = 50;

    /// <summary>The file; null: a temporary file, removed afterwards.</summary>
    public string? FileName { get; set; }

    /// <summary>The file's path: a relative <see cref="FileName"/> is inside <see cref="Directory"/> when one is given, as in fio.</summary>
    public string? FilePath => FileName is { } name && Directory is { } directory && !Path.IsPathRooted(name) ? Path.Combine(directory, name) : FileName;

    /// <summary>fio's filename with ':' (several files): the job's files; null: <see cref="FileName"/> or generated names.</summary>
    public string[]? FileNames { get; set; }

    /// <summary>fio's nrfiles: files per job thread (ignored when <see cref="FileNames"/> names them).</summary>
    public int NrFiles { get; set; } = 1;

    /// <summary>fio's filename_format: how generated files are named ($jobname, $jobnum, $filenum); null: kaio's temporary files.</summary>
    public string? FileNameFormat { get; set; }

    /// <summary>fio's file_service_type and its ':N' (requests before the next choice).</summary>
    public FileService FileService { get; set; }

    /// <inheritdoc cref="FileService"/>
    public int FileServiceIos { get; set; } = 1;

    /// <summary>file_service_type=zipf, pareto, normal/gauss: how the file is drawn.</summary>
    public RandomDistribution FileDistribution { get; set; } = RandomDistribution.Uniform;

    /// <summary>The number of files each job thread works on.</summary>
    public int FileCount => FileNames?.Length ?? NrFiles;

    /// <summary>Whether the job runs on its own list of files (several files, or names from filename_format) rather than one file.</summary>
    public bool MultiFile => FileCount > 1 || FileNameFormat is not null;

    /// <summary>fio's unlink: remove the job's file when the job is done.</summary>
    public bool Unlink { get; set; }

    /// <summary>fio's unlink_each_loop: remove the job's files after each loop (kaio: only with loops=1, where it is unlink).</summary>
    public bool UnlinkEachLoop { get; set; }

    /// <summary>fio's invalidate: drop the page cache of the job's regions (POSIX_FADV_DONTNEED) before its I/O starts (default true).</summary>
    public bool Invalidate { get; set; } = true;

    /// <summary>fio's openfiles: how many of a job thread's files may be open at once; null: all (fio's default, nrfiles).</summary>
    public int? OpenFiles { get; set; }

    /// <summary>fio's file_append: the job's region starts at the end of the file as it was before the job (offset = its size).</summary>
    public bool FileAppend { get; set; }

    /// <summary>fio's create_only: lay the job's files out and do no I/O.</summary>
    public bool CreateOnly { get; set; }

    /// <summary>fio's create_on_open: files are not laid out; each is created when the job opens it.</summary>
    public bool CreateOnOpen { get; set; }

    /// <summary>fio's fallocate (default native).</summary>
    public FallocateChoice Fallocate { get; set; } = FallocateChoice.Native;

    /// <summary>fio's overwrite: a writing job lays a missing or short file out by writing it (false: creates it afresh, fallocated only).</summary>
    public bool Overwrite { get; set; }

    /// <summary>fio's allow_file_create: false refuses a job whose file does not exist yet (default true).</summary>
    public bool AllowFileCreate { get; set; } = true;

    /// <summary>fio's filesize: the size of the job's file; <see cref="Size"/> is then the bytes to move (default: this).</summary>
    public long? FileSize { get; set; }

    /// <summary>fio's filesize=LOW-HIGH: each file gets a random size from <see cref="FileSize"/> up to this; null: every file <see cref="FileSize"/>.</summary>
    public long? FileSizeMax { get; set; }

    /// <summary>The region of the file the job works on: filesize (its smallest, with a range), else size.</summary>
    public long? RegionSize => FileSize ?? Size;

    /// <summary>fio's steadystate (ss): the criterion that ends the job; applies when <see cref="SteadyStateDuration"/> is set.</summary>
    public Workloads.SteadyStateCriterion SteadyState { get; set; } = Workloads.SteadyStateCriterion.Default;

    /// <summary>fio's ss_dur: the rolling window judged; zero: no steady-state detection.</summary>
    public TimeSpan SteadyStateDuration { get; set; }

    /// <summary>fio's ss_ramp: run this long before collecting steady-state samples.</summary>
    public TimeSpan SteadyStateRamp { get; set; }

    /// <summary>fio's offset: the job's region starts this far into the file.</summary>
    public long Offset { get; set; }

    /// <summary>fio's offset_increment: thread n of the job starts n times this further.</summary>
    public long OffsetIncrement { get; set; }

    /// <summary>fio's wait_for: the job starts only when the named earlier job has finished.</summary>
    public string? WaitFor { get; set; }

    /// <summary>fio's new_group: this job starts a new reporting group (group_reporting merges within one).</summary>
    public bool NewGroup { get; set; }

    /// <summary>fio's rate, rate_iops, ratemin, rate_iops_min, rate_process and thinktime.</summary>
    public RateLimits Rate { get; set; } = new();

    /// <summary>fio's flow: the job's weight among the jobs of its flow_id (0: not in flow control).</summary>
    public int Flow { get; set; }

    /// <summary>fio's flow_id.</summary>
    public int FlowId { get; set; }

    /// <summary>fio's number_ios: each job thread stops after this many requests (0: no limit).</summary>
    public long NumberIos { get; set; }

    /// <summary>fio's startdelay: the job starts this long (a random time in the range) after its group.</summary>
    public (TimeSpan Min, TimeSpan Max) StartDelay { get; set; }

    /// <summary>fio's exitall: when this job finishes, the others stop (<see cref="ExitWhat"/> says which).</summary>
    public bool ExitAll { get; set; }

    /// <summary>fio's exit_what.</summary>
    public ExitWhat ExitWhat { get; set; }
    public int FsyncEvery { get; set; }
    public int FdatasyncEvery { get; set; }
    public SyncMode Sync { get; set; }
    public VerifyMode Verify { get; set; }
    public bool VerifyOnly { get; set; }

    /// <summary>fio's verify_interval: a header every this many bytes of a block (0: one per block).</summary>
    public int VerifyInterval { get; set; }

    /// <summary>fio's verify_pattern: the bytes after each verify header (null: data derived from seed, offset and write).</summary>
    public byte[]? VerifyPattern { get; set; }

    /// <summary>fio's buffer_pattern: what unverified writes carry (null: random bytes).</summary>
    public byte[]? BufferPattern { get; set; }

    /// <summary>fio's do_verify: a writing job with verify reads its blocks back at the end (false: only writes them).</summary>
    public bool DoVerify { get; set; } = true;
    public ulong Seed { get; set; } = DefaultSeed;
    /// <summary>fio's ramp_time: run this long before recording anything; runtime counts after it.</summary>
    public TimeSpan? RampTime { get; set; }

    /// <summary>fio's loops: repeat a size-bound workload this many times.</summary>
    public int Loops { get; set; } = 1;

    /// <summary>fio's io_size: bytes each job thread moves, when it differs from size.</summary>
    public long? IoSize { get; set; }

    /// <summary>fio's directory: where kaio puts the file it names itself.</summary>
    public string? Directory { get; set; }

    /// <summary>fio's randrepeat: the same offsets every run (false: a fresh seed).</summary>
    public bool RandRepeat { get; set; } = true;

    /// <summary>fio's iodepth_batch_submit: requests per Submit call (fio's default, 1); 0: every free slot at once.</summary>
    public int BatchSubmit { get; set; } = 1;

    /// <summary>fio's iodepth_batch_complete_min: the minNr of each GetEvents.</summary>
    public int BatchCompleteMin { get; set; } = 1;

    /// <summary>
    /// fio's iodepth_batch_complete_max: the most events one GetEvents reaps; 0 (the default): as
    /// many as <see cref="BatchCompleteMin"/>, at least 1, as fio's default. So a job reaps one
    /// completion and refills one slot at a time and keeps its iodepth full, as fio does.
    /// </summary>
    public int BatchCompleteMax { get; set; }

    /// <summary>The most events one GetEvents of this job reaps (<see cref="BatchCompleteMax"/> with its default applied).</summary>
    public int ReapMax => BatchCompleteMax > 0 ? BatchCompleteMax : Math.Max(1, BatchCompleteMin);

    public bool Stonewall { get; set; }
    public bool GroupReporting { get; set; }
    public int KbBase { get; set; } = 1024;

    /// <summary>The options as given, in order, for the report's "job options" (as fio writes them).</summary>
    public List<KeyValuePair<string, string>> GivenOptions { get; private set; } = [];

    /// <summary>The [global] options that applied to this job, as given, for the report's "global options".</summary>
    public List<KeyValuePair<string, string>> GlobalOptions { get; set; } = [];

    /// <summary>fio's write_bw_log / write_lat_log / write_iops_log: the prefix of per-interval log files; null: none.</summary>
    public string? BwLog { get; set; }

    /// <inheritdoc cref="BwLog"/>
    public string? LatLog { get; set; }

    /// <inheritdoc cref="BwLog"/>
    public string? IopsLog { get; set; }

    /// <summary>fio's log_avg_msec: average log entries over this many ms; 0: one entry per I/O.</summary>
    public int LogAvgMsec { get; set; }

    /// <summary>fio's clat_percentiles (default on) and lat_percentiles: which latencies get percentiles.</summary>
    public bool ClatPercentiles { get; set; } = true;

    /// <inheritdoc cref="ClatPercentiles"/>
    public bool LatPercentiles { get; set; }

    /// <summary>fio's percentile_list, sorted; null: fio's default list.</summary>
    public double[]? PercentileList { get; set; }

    /// <summary>fio's log_offset: log lines carry the request's offset (before the priority column).</summary>
    public bool LogOffset { get; set; }

    /// <summary>fio's log_prio: the priority column is the request's value (0x%04x), not whether it was real time.</summary>
    public bool LogPrio { get; set; }

    /// <summary>fio's prio, prioclass, priohint and the cmdprio_* options.</summary>
    public IoPriorities Priorities { get; set; } = new();

    /// <summary>fio's latency_target: the total latency the probed queue depth must keep; null: off.</summary>
    public TimeSpan? LatencyTarget { get; set; }

    /// <summary>fio's latency_window: how long each queue depth is tried (0: judged after every reap, as fio does).</summary>
    public TimeSpan LatencyWindow { get; set; }

    /// <summary>fio's latency_percentile: the percent of I/Os that must meet the target (default 100).</summary>
    public double LatencyPercentile { get; set; } = 100;

    /// <summary>fio's latency_run: keep adjusting the depth instead of ending the job when it is found.</summary>
    public bool LatencyRun { get; set; }

    /// <summary>fio's random_generator=lfsr: random offsets visit every block once before any repeats.</summary>
    public bool Lfsr { get; set; }

    /// <summary>fio's zonemode=strided: <see cref="ZoneSize"/> bytes in a zone of <see cref="ZoneRange"/>, then the next zone <see cref="ZoneSkip"/> further.</summary>
    public bool ZoneStrided { get; set; }

    /// <summary>fio's zonesize: bytes moved in a zone before going to the next.</summary>
    public long ZoneSize { get; set; }

    /// <summary>fio's zonerange: the size of a zone (0: zonesize).</summary>
    public long ZoneRange { get; set; }

    /// <summary>fio's zoneskip: bytes skipped between one zone's end and the next zone.</summary>
    public long ZoneSkip { get; set; }

    /// <summary>fio's buffer_compress_percentage: write buffers compress to about this percent (null: random bytes).</summary>
    public int? BufferCompressPercentage { get; set; }

    /// <summary>fio's buffer_compress_chunk: the random/fixed pattern repeats every this many bytes (0: the request's size).</summary>
    public int BufferCompressChunk { get; set; } = 512;

    /// <summary>fio's dedupe_percentage: this percent of writes repeat an earlier write's content.</summary>
    public int DedupePercentage { get; set; }

    /// <summary>fio's dedupe_mode=working_set (false: repeat, fio's default).</summary>
    public bool DedupeWorkingSet { get; set; }

    /// <summary>fio's dedupe_working_set_percentage: the working set is this percent of the job's region (default 5).</summary>
    public int DedupeWorkingSetPercentage { get; set; } = 5;

    /// <summary>fio's dedupe_global: jobs with it share one working set.</summary>
    public bool DedupeGlobal { get; set; }

    /// <summary>fio's refill_buffers: new content in each write's buffer (implied by compression and dedupe).</summary>
    public bool RefillBuffers { get; set; }

    /// <summary>Whether each write's buffer gets new content (refill_buffers, buffer_compress_percentage, dedupe_percentage).</summary>
    public bool GeneratesContent => RefillBuffers || BufferCompressPercentage is not null || DedupePercentage > 0;

    /// <summary>Where this job came from, for errors ("job.fio [seqwrite]").</summary>
    public string Origin { get; set; } = "command line";

    public JobSpec Clone()
    {
        var copy = (JobSpec)MemberwiseClone();
        copy.GivenOptions = [.. GivenOptions];
        copy.GlobalOptions = [.. GlobalOptions];
        copy._sizes = [.. _sizes];
        copy._align = [.. _align];
        return copy;
    }

    /// <summary>Checks the combination of options; returns an error naming the option, or null.</summary>
    public string? Validate()
    {
        if (BlockSize <= 0)
        {
            return "bs must be positive";
        }

        if (Size is { } size && size < MinBlockSize)
        {
            return $"size={FioValues.FormatSize(size)} is smaller than bs={FioValues.FormatSize(MinBlockSize)}";
        }

        if (FileSize is { } fileSize && fileSize < MinBlockSize)
        {
            return $"filesize={FioValues.FormatSize(fileSize)} is smaller than bs={FioValues.FormatSize(MinBlockSize)}";
        }

        if (RwMixRead is < 0 or > 100)
        {
            return "rwmixread must be between 0 and 100";
        }

        if (IoDepth is < 1 or > 65536)
        {
            return "iodepth must be between 1 and 65536";
        }

        if (NumJobs is < 1 or > 1024)
        {
            return "numjobs must be between 1 and 1024";
        }

        if (FsyncEvery < 0 || FdatasyncEvery < 0)
        {
            return "fsync and fdatasync must not be negative";
        }

        if (Verify != VerifyMode.None || VerifyOnly)
        {
            if (!FixedBlockSize)
            {
                return "verify needs one fixed block size (not bsrange, bssplit or different read and write sizes)";
            }

            if (Offset % BlockSize != 0 || OffsetIncrement % BlockSize != 0 || RwSkip % BlockSize != 0
                || Alignment(Direction.Read) % BlockSize != 0 || Alignment(Direction.Write) % BlockSize != 0)
            {
                return "verify needs offset, offset_increment, rw's skip and blockalign to be multiples of bs (each request a whole checked block)";
            }

            if (VerifyInterval > 0 && (VerifyInterval < BlockHeader.Size || BlockSize % VerifyInterval != 0))
            {
                return $"verify_interval={VerifyInterval.ToString(CultureInfo.InvariantCulture)} must divide bs={FioValues.FormatSize(BlockSize)} and be at least {BlockHeader.Size} bytes (the header)";
            }

            if (BlockSize < BlockHeader.Size)
            {
                return $"verify needs bs of at least {BlockHeader.Size} bytes for the block header";
            }

            if (IoEngine.Kind == AioEngineKind.Null)
            {
                return "verify needs an engine that does I/O; ioengine=null does none";
            }
        }

        if (TimeBased && Runtime is null)
        {
            return "time_based needs runtime";
        }

        if (IoSize is { } ioSize && ioSize < MinBlockSize)
        {
            return $"io_size={FioValues.FormatSize(ioSize)} is smaller than bs={FioValues.FormatSize(MinBlockSize)}";
        }

        if (BatchSubmit > IoDepth || BatchCompleteMin > IoDepth || BatchCompleteMax > IoDepth)
        {
            return "iodepth_batch_submit, iodepth_batch_complete_min and iodepth_batch_complete_max must not exceed iodepth";
        }

        if (MultiFile && FileName is not null && FileNames is null)
        {
            // fio: with filename, nrfiles is ignored; kaio says so rather than run one file silently.
            return "nrfiles and filename_format make the job's files; filename names one file (give several as filename=a:b)";
        }

        if (MultiFile && (ZoneStrided || Lfsr || OffsetIncrement != 0))
        {
            return "several files per job (nrfiles, filename=a:b, filename_format) do not combine with zonemode, random_generator=lfsr or offset_increment in kaio";
        }

        if (OpenFiles is { } openFiles && openFiles < FileCount)
        {
            return string.Create(CultureInfo.InvariantCulture, $"openfiles={openFiles} is below the job's {FileCount} files: kaio keeps all of a job thread's files open for the whole job (fio would close one before opening the next); give openfiles of at least {FileCount}, or leave it out");
        }

        if (UnlinkEachLoop && Loops > 1)
        {
            return "unlink_each_loop with loops > 1: kaio runs a job's loops as one pass over its files and cannot remove them between loops (with loops=1 it is unlink)";
        }

        if (FileAppend && MultiFile)
        {
            return "file_append with several files per job (nrfiles, filename=a:b, filename_format): kaio appends to one file only; each file would need its own offset";
        }

        if (MultiFile && (Verify != VerifyMode.None || VerifyOnly) && NumJobs > 1 && (FileNames is not null || (FileNameFormat is { } format && !format.Contains("$jobnum", StringComparison.Ordinal))))
        {
            return "verify with files shared by numjobs threads (filename=a:b, or a filename_format without $jobnum) would have two threads writing one block; give each thread its own files";
        }

        if (ReadWrite.HasTrims() && (Verify != VerifyMode.None || VerifyOnly || IoEngine.IsBaseline || (GeneratesContent && !ReadWrite.HasDataWrites())))
        {
            return IoEngine.IsBaseline
                ? "rw=trim, randtrim, trimwrite and randtrimwrite need a Kaio engine (kaio punches holes with fallocate requests); .NET RandomAccess has none"
                : "trims do not combine with verify, and rw=trim and randtrim write no data for buffer contents to apply to";
        }

        if (Priorities.Validate() is { } priorities)
        {
            return priorities;
        }

        if ((Priorities.Any || LatencyTarget is not null) && (IoEngine.Awaited || IoEngine.IsBaseline))
        {
            return $"{(Priorities.Any ? "prio, prioclass and cmdprio_*" : "latency_target")} need kaio's Submit/GetEvents runner; ioengine={IoEngine.Name} awaits each request";
        }

        if (Lfsr && (!FixedBlockSize || Distribution.Kind != DistributionKind.Random))
        {
            return "random_generator=lfsr needs one fixed block size and random_distribution=random (kaio's lfsr visits each block of bs once)";
        }

        if (ZoneStrided && ZoneSize <= 0)
        {
            return "zonemode=strided needs zonesize";
        }

        if (GeneratesContent && (Verify != VerifyMode.None || VerifyOnly || (BufferPattern is not null && BufferCompressPercentage is null)))
        {
            return "refill_buffers, buffer_compress_percentage and dedupe_percentage choose what writes carry; verify and buffer_pattern (without buffer_compress_percentage) do too: use one";
        }

        if (BatchCompleteMax > 0 && BatchCompleteMin > BatchCompleteMax)
        {
            return "iodepth_batch_complete_min must not exceed iodepth_batch_complete_max";
        }

        return null;
    }

    /// <summary>A one-line summary like fio's job line: <c>rw=randread, bs=4KiB, iodepth=32</c>.</summary>
    public string Describe()
    {
        var parts = new List<string>
        {
            "rw=" + ReadWrite.FioName() + (RwSkip != 0 ? ":" + RwSkip.ToString(CultureInfo.InvariantCulture) : RandomRun > 0 ? ":" + RandomRun.ToString(CultureInfo.InvariantCulture) : ""),
            "bs=" + (FixedBlockSize ? FioValues.FormatSize(BlockSize) : Sizes(Direction.Read).Describe() + "," + Sizes(Direction.Write).Describe()),
            "iodepth=" + IoDepth.ToString(CultureInfo.InvariantCulture),
        };
        if (Size is { } size)
        {
            parts.Add("size=" + FioValues.FormatSize(size));
        }

        if (Runtime is { } runtime)
        {
            parts.Add("runtime=" + FioValues.FormatTime(runtime) + (TimeBased ? " time_based" : ""));
        }

        if (RampTime is { } ramp)
        {
            parts.Add("ramp_time=" + FioValues.FormatTime(ramp));
        }

        if (Loops > 1)
        {
            parts.Add("loops=" + Loops.ToString(CultureInfo.InvariantCulture));
        }

        if (IoSize is { } ioSize)
        {
            parts.Add("io_size=" + FioValues.FormatSize(ioSize));
        }

        if (BatchSubmit != 1 || BatchCompleteMin > 1 || BatchCompleteMax > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"iodepth_batch={BatchSubmit}/{BatchCompleteMin}-{BatchCompleteMax}"));
        }

        if (Distribution.Kind != DistributionKind.Random)
        {
            parts.Add("random_distribution=" + Distribution.Describe());
        }

        if (NumJobs > 1)
        {
            parts.Add("numjobs=" + NumJobs.ToString(CultureInfo.InvariantCulture));
        }

        if (MultiFile)
        {
            parts.Add("nrfiles=" + FileCount.ToString(CultureInfo.InvariantCulture) + " (" + FileService.ToString().ToLowerInvariant() + ")");
        }

        if (ZoneStrided)
        {
            parts.Add("zonemode=strided " + FioValues.FormatSize(ZoneSize) + "/" + FioValues.FormatSize(ZoneRange > 0 ? ZoneRange : ZoneSize) + "+" + FioValues.FormatSize(ZoneSkip));
        }

        if (Lfsr)
        {
            parts.Add("random_generator=lfsr");
        }

        if (LatencyTarget is { } target)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"latency_target={FioValues.FormatTime(target)} p{LatencyPercentile}"));
        }

        if (DedupePercentage > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"dedupe={DedupePercentage}%{(DedupeWorkingSet ? " working_set" : "")}{(DedupeGlobal ? " global" : "")}"));
        }

        if (BufferCompressPercentage is { } compress)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"buffer_compress={compress}%"));
        }

        if (ReadWrite is ReadWriteMode.ReadWrite or ReadWriteMode.RandReadWrite)
        {
            parts.Add("rwmixread=" + RwMixRead.ToString(CultureInfo.InvariantCulture));
        }

        if (Direct)
        {
            parts.Add("direct=1");
        }

        if (Sync != SyncMode.None)
        {
            parts.Add(Sync == SyncMode.Sync ? "sync=1" : "dsync=1");
        }

        if (FsyncEvery > 0)
        {
            parts.Add("fsync=" + FsyncEvery.ToString(CultureInfo.InvariantCulture));
        }

        if (FdatasyncEvery > 0)
        {
            parts.Add("fdatasync=" + FdatasyncEvery.ToString(CultureInfo.InvariantCulture));
        }

        if (Verify != VerifyMode.None)
        {
            parts.Add("verify=" + Verify.FioName());
        }

        if (VerifyOnly)
        {
            parts.Add("verify_only");
        }

        parts.Add("ioengine=" + IoEngine.Name);
        return string.Join(", ", parts);
    }
}
