// Design: the one table of job options kaio understands, shared by the command line and the job
// file reader, so `--bs=4k` and `bs=4k` in a job file go through the same code. Anything not in
// this table is an error that names it: fio has hundreds of options, and silently ignoring one
// (say, `norandommap` or `rate_iops`) would run a different benchmark than the file describes.
using System.Globalization;

namespace Kaio.Cli.Jobs;

/// <summary>A job option the user got wrong; the message names the option and the value.</summary>
internal sealed class JobOptionException : Exception
{
    public JobOptionException(string message) : base(message) { }

    public JobOptionException() { }

    public JobOptionException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>One fio option kaio supports.</summary>
/// <param name="Name">fio's name.</param>
/// <param name="Aliases">fio's other names for it.</param>
/// <param name="IsFlag">A boolean that may be given bare (<c>direct</c> means <c>direct=1</c>).</param>
/// <param name="ValueHint">What the value looks like, for help.</param>
/// <param name="Help">One line of help.</param>
/// <param name="Apply">Sets the option on a job; throws <see cref="JobOptionException"/> on a bad value.</param>
internal sealed record JobOption(string Name, string[] Aliases, bool IsFlag, string ValueHint, string Help, Action<JobSpec, string?> Apply);

/// <summary>The table of supported options.</summary>
internal static class JobOptions
{
    public static IReadOnlyList<JobOption> All { get; } =
    [
        new("name", [], false, "NAME", "the job's name", (j, v) => j.Name = Required("name", v)),
        new("description", [], false, "TEXT", "a description of the job, shown in the report", (j, v) => j.Description = Required("description", v)),
        new("rw", ["readwrite"], false, "MODE[:N]", "read, write, randread, randwrite, rw/readwrite, randrw, trim, randtrim (punched holes), trimwrite, randtrimwrite (each block trimmed, then written); ':8k' skips 8k between sequential requests (negative: backwards), ':8' takes a new random offset every 8 requests", ParseReadWrite),
        new("bs", ["blocksize"], false, "SIZE[,SIZE][,SIZE]", "block size of each I/O (fio suffixes: 4k, 1m); comma-separated: reads, writes, trims", (j, v) => j.SetSizes(BlockSizes.ParseBs(Required("bs", v), j.KbBase))),
        new("bsrange", ["blocksize_range"], false, "MIN-MAX[,MIN-MAX]", "request sizes: multiples of MIN up to MAX; comma-separated: reads, writes, trims", (j, v) => j.SetSizes(BlockSizes.ParseRange(Required("bsrange", v), j.KbBase))),
        new("bssplit", [], false, "SIZE/PCT:...[,...]", "request sizes by share (4k/60:64k/40); blank shares split the rest; comma-separated: reads, writes, trims", (j, v) => j.SetSizes(BlockSizes.ParseSplit(Required("bssplit", v), j.KbBase))),
        new("blockalign", ["ba"], false, "SIZE[,SIZE][,SIZE]", "random offsets are multiples of this (default: the smallest block size)", (j, v) => j.SetAlignment(BlockSizes.ParseAlign(Required("blockalign", v), j.KbBase))),
        new("random_generator", [], false, "tausworthe|tausworthe64|lfsr", "tausworthe, tausworthe64: uniform draws (kaio's xoshiro256**, seeded like fio's); lfsr: every block once, in a scrambled order, before any repeats", (j, v) => j.Lfsr = Required("random_generator", v).ToLowerInvariant() switch
        {
            "tausworthe" or "tausworthe64" => false,
            "lfsr" => true,
            _ => throw new JobOptionException($"random_generator={v}: expected tausworthe, tausworthe64 or lfsr"),
        }),
        new("random_distribution", [], false, "DIST", "where random requests land: random, zipf:θ, pareto:h, normal:dev, zoned:A/S:..., zoned_abs:A/SIZE:...", (j, v) => j.Distribution = RandomDistribution.Parse(Required("random_distribution", v), j.KbBase)),
        new("iodepth", [], false, "N", "requests each job thread keeps in flight", (j, v) => j.IoDepth = (int)Int("iodepth", v, 1, 65536)),
        new("size", [], false, "SIZE", "the region of the file to use; also the I/O per job thread unless time_based", (j, v) => (j.Size, j.SizePercent) = SizeOrPercent(v, j.KbBase)),
        new("offset", ["fileoffset"], false, "SIZE", "start the job's region this far into the file", (j, v) => j.Offset = Size("offset", v, j.KbBase, 0, long.MaxValue)),
        new("offset_increment", [], false, "SIZE", "thread n of the job starts n x this further than offset", (j, v) => j.OffsetIncrement = Size("offset_increment", v, j.KbBase, 0, long.MaxValue)),
        new("unlink", [], true, "", "remove the job's file when the job is done (kaio's own temporary files are removed anyway)", (j, v) => j.Unlink = Bool("unlink", v)),
        new("unlink_each_loop", [], true, "", "remove the job's files after each loop (kaio: with loops=1 only, where it is unlink)", (j, v) => j.UnlinkEachLoop = Bool("unlink_each_loop", v)),
        new("invalidate", [], true, "", "drop the page cache of the job's file regions before its I/O starts (default 1, as fio; 0: keep a warm cache)", (j, v) => j.Invalidate = Bool("invalidate", v)),
        new("file_append", [], true, "", "do the job's I/O after the end of the file: offset is the file's size when the job starts", (j, v) => j.FileAppend = Bool("file_append", v)),
        new("create_only", [], true, "", "lay the job's files out and do no I/O", (j, v) => j.CreateOnly = Bool("create_only", v)),
        new("allow_file_create", [], true, "", "0: a job whose file does not exist fails instead of creating it (default 1)", (j, v) => j.AllowFileCreate = Bool("allow_file_create", v)),
        new("filesize", [], false, "SIZE[-SIZE]", "the size of each of the job's files (a range: each file a random size in it); size (default: the files' sizes) is then the bytes each job thread moves", (j, v) => (j.FileSize, j.FileSizeMax) = SizeRange("filesize", v, j.KbBase)),
        new("wait_for", [], false, "JOB", "start when the named earlier job has finished (kaio starts a new group there: it also waits for that group's other jobs)", (j, v) => j.WaitFor = Required("wait_for", v)),
        new("new_group", [], true, "", "start a new reporting group (group_reporting merges the jobs of one)", (j, v) => j.NewGroup = Bool("new_group", v)),
        new("rate", [], false, "BYTES/S[,W]", "cap each job thread's bandwidth (reads, writes comma-separated; 0: none)", (j, v) => j.Rate = j.Rate with { Bytes = Rates("rate", v, j.KbBase, size: true) }),
        new("rate_iops", [], false, "N[,W]", "cap each job thread's requests per second (reads, writes)", (j, v) => j.Rate = j.Rate with { Iops = Rates("rate_iops", v, j.KbBase, size: false) }),
        new("ratemin", [], false, "BYTES/S[,W]", "fail the job when a thread moves less than this over a second", (j, v) => j.Rate = j.Rate with { MinBytes = Rates("ratemin", v, j.KbBase, size: true) }),
        new("rate_iops_min", [], false, "N[,W]", "fail the job when a thread issues fewer requests per second", (j, v) => j.Rate = j.Rate with { MinIops = Rates("rate_iops_min", v, j.KbBase, size: false) }),
        new("rate_process", [], false, "linear|poisson", "evenly spaced requests (linear) or exponential gaps of the same mean (poisson)", (j, v) => j.Rate = j.Rate with { Poisson = Required("rate_process", v).ToLowerInvariant() switch { "linear" => false, "poisson" => true, _ => throw new JobOptionException($"rate_process={v}: expected linear or poisson") } }),
        new("thinktime", [], false, "TIME", "leave at least this long between requests (microseconds unless suffixed)", (j, v) => j.Rate = j.Rate with { ThinkTime = Microseconds("thinktime", v) }),
        new("flow", [], false, "N", "weight among the jobs of one flow_id: flow=8 and flow=1 run about 8 requests to 1", (j, v) => j.Flow = (int)SignedInt("flow", v)),
        new("flow_id", [], false, "N", "the flow group this job's flow weight counts in (default 0)", (j, v) => j.FlowId = (int)Int("flow_id", v, 0, int.MaxValue)),
        new("flow_sleep", [], false, "N", "accepted: a job ahead of its flow share waits and asks again every millisecond (fio: every flow_sleep microseconds)", (j, v) => Int("flow_sleep", v, 0, int.MaxValue)),
        new("steadystate", ["ss"], false, "METRIC:LIMIT", "stop the job when steady: iops, iops_slope, bw or bw_slope under LIMIT (a number or a percent of the mean) over ss_dur", (j, v) => j.SteadyState = Workloads.SteadyStateCriterion.Parse(Required("steadystate", v))),
        new("steadystate_duration", ["ss_dur"], false, "TIME", "the rolling window steady state is judged over (samples once a second); 0: off", (j, v) => j.SteadyStateDuration = Time("steadystate_duration", v)),
        new("steadystate_ramp_time", ["ss_ramp"], false, "TIME", "run this long before collecting steady-state samples", (j, v) => j.SteadyStateRamp = Time("steadystate_ramp_time", v)),
        new("io_submit_mode", [], false, "inline|offload", "accepted: kaio's job thread submits (inline); with offload fio submits from another thread to hold a rate whatever the completions do, which kaio's paced submission within iodepth does as well", (j, v) => _ = Required("io_submit_mode", v).ToLowerInvariant() is "inline" or "offload" ? true : throw new JobOptionException($"io_submit_mode={v}: expected inline or offload")),
        new("number_ios", [], false, "N", "each job thread stops after this many requests", (j, v) => j.NumberIos = Int("number_ios", v, 0, long.MaxValue)),
        new("startdelay", [], false, "TIME[-TIME]", "start the job this long after its group (a range: a random time in it)", (j, v) => j.StartDelay = TimeRange("startdelay", v)),
        new("exitall", [], true, "", "when this job finishes, stop the others (exit_what says which)", (j, v) => j.ExitAll = Bool("exitall", v)),
        new("exit_what", [], false, "group|stonewall|all", "which jobs exitall stops: those running with it (group, stonewall) or all, later ones too", (j, v) => j.ExitWhat = Required("exit_what", v).ToLowerInvariant() switch { "group" => ExitWhat.Group, "stonewall" => ExitWhat.Stonewall, "all" => ExitWhat.All, _ => throw new JobOptionException($"exit_what={v}: expected group, stonewall or all") }),
        new("runtime", ["timeout"], false, "TIME", "stop after this long (seconds unless suffixed: 500ms, 2m)", (j, v) => j.Runtime = Time("runtime", v)),
        new("time_based", [], true, "", "run for the whole runtime, repeating the workload", (j, v) => j.TimeBased = Bool("time_based", v)),
        new("direct", [], true, "", "O_DIRECT: bypass the page cache (aligned buffers)", (j, v) => j.Direct = Bool("direct", v)),
        new("buffered", [], true, "", "the opposite of direct", (j, v) => j.Direct = !Bool("buffered", v)),
        new("ioengine", [], false, "ENGINE", IoEngineChoice.AcceptedNames, (j, v) => j.IoEngine = ParseEngine(v)),
        new("numjobs", [], false, "N", "threads running this job, each with its own context", (j, v) => j.NumJobs = (int)Int("numjobs", v, 1, 1024)),
        new("rwmixread", [], false, "PERCENT", "share of reads in rw/randrw", (j, v) => j.RwMixRead = (int)Int("rwmixread", v, 0, 100)),
        new("rwmixwrite", [], false, "PERCENT", "share of writes in rw/randrw", (j, v) => j.RwMixRead = 100 - (int)Int("rwmixwrite", v, 0, 100)),
        new("filename", [], false, "PATH[:PATH...]", "the file (default: a temporary file, removed afterwards); several files separated by ':' ('\\:' is a colon in a name)", (j, v) =>
        {
            string[] names = ParseFileNames(v);
            j.FileName = names.Length == 1 ? names[0] : null;
            j.FileNames = names.Length == 1 ? null : names;
        }),
        new("nrfiles", ["nr_files"], false, "N", "files per job thread, each size/nrfiles (or filesize) long, named by filename_format", (j, v) => j.NrFiles = (int)Int("nrfiles", v, 1, 1 << 20)),
        new("filename_format", [], false, "FORMAT", "names of the job's files: $jobname, $jobnum (the thread), $filenum; relative to directory (files so named are kept, unless unlink)", (j, v) => j.FileNameFormat = Required("filename_format", v)),
        new("file_service_type", [], false, "roundrobin|sequential|random[:N]|zipf|pareto|normal[:V]", "which file the next request goes to: each in turn (default), one after another, at random (':N' requests before choosing again), or by zipf:θ, pareto:h or normal:dev", (j, v) => (j.FileService, j.FileServiceIos, j.FileDistribution) = ParseFileService(v)),
        new("openfiles", [], false, "N", "files a job thread may have open at once: kaio opens all of them, so N must be at least the job's file count (fio's default)", (j, v) => j.OpenFiles = (int)Int("openfiles", v, 1, int.MaxValue)),
        new("create_on_open", [], true, "", "do not lay the job's files out: each is created (empty) when the job opens it", (j, v) => j.CreateOnOpen = Bool("create_on_open", v)),
        new("fallocate", [], false, "none|native|posix|keep|truncate|0|1", "how a file's space is reserved when it is laid out (default native: fallocate(2)); a job that does not read gets only this, its file is not written", (j, v) => j.Fallocate = Required("fallocate", v).ToLowerInvariant() switch
        {
            "none" or "0" => FallocateChoice.None,
            "native" => FallocateChoice.Native,
            "posix" or "1" => FallocateChoice.Posix,
            "keep" => FallocateChoice.Keep,
            "truncate" => FallocateChoice.Truncate,
            _ => throw new JobOptionException($"fallocate={v}: expected none, native, posix, keep, truncate, 0 or 1"),
        }),
        new("overwrite", [], true, "", "a job that writes lays a missing or short file out by writing it, as one that reads does (default 0: it is created afresh and only fallocated)", (j, v) => j.Overwrite = Bool("overwrite", v)),
        new("fsync", [], false, "N", "fsync after every N writes", (j, v) => j.FsyncEvery = (int)Int("fsync", v, 0, int.MaxValue)),
        new("fdatasync", [], false, "N", "fdatasync after every N writes", (j, v) => j.FdatasyncEvery = (int)Int("fdatasync", v, 0, int.MaxValue)),
        new("sync", [], true, "0|1|dsync", "every write durable with metadata (RWF_SYNC); fio's sync=none|sync|dsync too", (j, v) => j.Sync = ParseSync(v, j.Sync)),
        new("dsync", [], true, "", "every write's data durable (RWF_DSYNC)", (j, v) => j.Sync = Bool("dsync", v) ? SyncMode.Dsync : (j.Sync == SyncMode.Dsync ? SyncMode.None : j.Sync)),
        new("verify", [], true, "0|1|crc64", "write blocks with a checked header and read them back: 1 (xxhash), xxhash, crc64, crc32c, crc32, md5, sha1, sha256, sha512, meta, 0", (j, v) => j.Verify = ParseVerify(v)),
        new("verify_interval", [], false, "SIZE", "a verify header every this many bytes of a block (must divide bs)", (j, v) => j.VerifyInterval = (int)Size("verify_interval", v, j.KbBase, 1, int.MaxValue)),
        new("verify_pattern", [], false, "PATTERN", "the bytes after each verify header (0xaa55, a number, \"text\"); without verify= turns it on (kaio keeps its header: fio's verify=pattern has none)", (j, v) =>
        {
            j.VerifyPattern = Pattern("verify_pattern", v);
            if (j.Verify == VerifyMode.None && !j.GivenOptions.Any(o => o.Key == "verify"))
            {
                j.Verify = VerifyMode.XxHash64;
            }
        }),
        new("buffer_pattern", [], false, "PATTERN", "fill write buffers with this pattern instead of random bytes", (j, v) => j.BufferPattern = Pattern("buffer_pattern", v)),
        new("do_verify", [], true, "", "with verify, read back what was written when the writes end (default 1; 0: write verified blocks only)", (j, v) => j.DoVerify = Bool("do_verify", v)),
        new("verify_fatal", [], true, "", "accepted: kaio stops a job at its first bad block either way and names it", (j, v) => Bool("verify_fatal", v)),
        new("verify_dump", [], true, "", "0 only: kaio explains a bad block in its error (first bad byte, expected and found) and dumps no files", (j, v) => _ = !Bool("verify_dump", v) ? true : throw new JobOptionException("verify_dump=1: kaio does not dump bad blocks to files; its error names the block, the first bad byte and what it expected")),
        new("verify_only", [], true, "", "do not run the workload; only verify a file written earlier with verify", (j, v) => j.VerifyOnly = Bool("verify_only", v)),
        new("seed", ["randseed"], false, "N", "seed of the random offsets and of the verify data", (j, v) => j.Seed = (ulong)Int("seed", v, 0, long.MaxValue)),
        new("stonewall", ["wait_for_previous"], true, "", "wait for the jobs before this one to finish; starts a new group", (j, v) => j.Stonewall = Bool("stonewall", v)),
        new("group_reporting", [], true, "", "report a group's jobs (and numjobs threads) together", (j, v) => j.GroupReporting = Bool("group_reporting", v)),
        new("kb_base", [], false, "1024|1000", "meaning of size suffixes, as in fio", (j, v) => j.KbBase = ParseKbBase(v)),
        new("thread", [], true, "", "accepted: kaio always runs jobs as threads", (j, v) => Bool("thread", v)),
        new("threads", [], false, "N", "accepted and without effect, as in fio: an option of fio's tiobench profile, which kaio does not have", (j, v) => Int("threads", v, 0, int.MaxValue)),
        new("gtod_reduce", [], true, "", "accepted: fio then skips most clock reads; kaio's clock reads are cheap and it still reports latencies", (j, v) => Bool("gtod_reduce", v)),
        new("create_serialize", [], true, "", "accepted: kaio lays files out one at a time", (j, v) => Bool("create_serialize", v)),
        new("ramp_time", [], false, "TIME", "run this long before recording; runtime counts after it", (j, v) => j.RampTime = Time("ramp_time", v)),
        new("loops", [], false, "N", "repeat a size-bound job N times", (j, v) => j.Loops = (int)Int("loops", v, 1, int.MaxValue)),
        new("io_size", ["io_limit"], false, "SIZE", "bytes each job thread moves, when not size", (j, v) => j.IoSize = Size("io_size", v, j.KbBase, 1, long.MaxValue)),
        new("directory", [], false, "DIR", "where kaio puts the file it names itself (removed afterwards)", (j, v) => j.Directory = Required("directory", v)),
        new("randrepeat", [], true, "", "the same offsets every run (default 1; 0: a fresh seed)", (j, v) => j.RandRepeat = Bool("randrepeat", v)),
        new("norandommap", [], true, "", "accepted: kaio's random offsets are always uniform, without fio's random map", (j, v) => _ = Bool("norandommap", v) ? true : throw new JobOptionException("norandommap=0: kaio has no random map; random offsets are uniform")),
        new("iodepth_batch_submit", ["iodepth_batch"], false, "N", "requests per Submit (io_submit) call (default 1, as fio); 0: all free slots at once", (j, v) => j.BatchSubmit = (int)Int("iodepth_batch_submit", v, 0, 65536)),
        new("iodepth_batch_complete_min", ["iodepth_batch_complete"], false, "N", "minNr of each GetEvents (io_getevents)", (j, v) => j.BatchCompleteMin = (int)Int("iodepth_batch_complete_min", v, 0, 65536)),
        new("iodepth_batch_complete_max", [], false, "N", "the most events one GetEvents reaps; default (0): iodepth_batch_complete_min, at least 1, as fio", (j, v) => j.BatchCompleteMax = (int)Int("iodepth_batch_complete_max", v, 0, 65536)),
        new("write_bw_log", [], true, "[PREFIX]", "bandwidth log: PREFIX_bw.N.log per job thread (bare: the job's name), fio's format (msec, KiB/s, direction, bs, [offset,] priority)", (j, v) => j.BwLog = LogPrefix(j, v)),
        new("write_lat_log", [], true, "[PREFIX]", "latency logs: PREFIX_clat.N.log, PREFIX_slat.N.log, PREFIX_lat.N.log (ns)", (j, v) => j.LatLog = LogPrefix(j, v)),
        new("write_iops_log", [], true, "[PREFIX]", "IOPS log: PREFIX_iops.N.log", (j, v) => j.IopsLog = LogPrefix(j, v)),
        new("log_offset", [], true, "", "log lines carry each request's offset (a column before the priority)", (j, v) => j.LogOffset = Bool("log_offset", v)),
        new("log_prio", [], true, "", "the logs' priority column is the request's priority value (0x%04x; without: 1 for the real-time class, else 0)", (j, v) => j.LogPrio = Bool("log_prio", v)),
        new("prio", [], false, "0-7", "the job's I/O priority level (0 highest; class best effort unless prioclass says otherwise)", (j, v) => j.Priorities = j.Priorities with { Level = (int)Int("prio", v, 0, 7) }),
        new("prioclass", [], false, "0-3", "the job's I/O priority class: 1 real time, 2 best effort, 3 idle (ionice(1))", (j, v) => j.Priorities = j.Priorities with { Class = (int)Int("prioclass", v, 0, 3) }),
        new("priohint", [], false, "N", "the job's I/O priority hint (command duration limits)", (j, v) => j.Priorities = j.Priorities with { Hint = (int)Int("priohint", v, 0, 1023) }),
        new("cmdprio_percentage", [], false, "PCT[,PCT]", "this percent of requests (reads, writes) get cmdprio_class/cmdprio instead of the job's priority", (j, v) => j.Priorities = j.Priorities with { CmdPercentage = PerDirection("cmdprio_percentage", v, 0, 100, 0) }),
        new("cmdprio_class", [], false, "CLASS[,CLASS]", "the class of cmdprio requests (default 1, real time)", (j, v) => j.Priorities = j.Priorities with { CmdClass = PerDirection("cmdprio_class", v, 0, 3, IoPriority.ClassRealTime) }),
        new("cmdprio", [], false, "LEVEL[,LEVEL]", "the level of cmdprio requests (default 0)", (j, v) => j.Priorities = j.Priorities with { CmdLevel = PerDirection("cmdprio", v, 0, 7, 0) }),
        new("cmdprio_hint", [], false, "HINT[,HINT]", "the hint of cmdprio requests (default 0)", (j, v) => j.Priorities = j.Priorities with { CmdHint = PerDirection("cmdprio_hint", v, 0, 1023, 0) }),
        new("cmdprio_bssplit", [], false, "BS/PCT[/CLASS/LEVEL[/HINT]]:...[,...]", "per request size, the percent of requests that get a priority (reads, writes)", (j, v) => j.Priorities = j.Priorities with { CmdBssplit = IoPriorities.ParseBssplit(Required("cmdprio_bssplit", v), j.KbBase) }),
        new("latency_target", [], false, "TIME", "find the largest queue depth up to iodepth whose total latency stays under this (microseconds unless suffixed)", (j, v) => j.LatencyTarget = Microseconds("latency_target", v)),
        new("latency_window", [], false, "TIME", "how long each queue depth is tried (microseconds unless suffixed)", (j, v) => j.LatencyWindow = Microseconds("latency_window", v)),
        new("latency_percentile", [], false, "PCT", "the percent of I/Os that must meet latency_target (default 100)", (j, v) => j.LatencyPercentile = Percent("latency_percentile", v)),
        new("latency_run", [], true, "", "keep adjusting the queue depth for the whole run (default 0: end the job once the depth is found)", (j, v) => j.LatencyRun = Bool("latency_run", v)),
        new("zonemode", [], false, "none|strided", "strided: zonesize bytes in each zone of zonerange, then zoneskip further", (j, v) => j.ZoneStrided = Required("zonemode", v).ToLowerInvariant() switch
        {
            "none" => false,
            "strided" => true,
            "zbd" => throw new JobOptionException("zonemode=zbd: kaio does not drive zoned block devices (write pointers, zone resets); zonemode=strided is supported"),
            _ => throw new JobOptionException($"zonemode={v}: expected none or strided"),
        }),
        new("zonesize", [], false, "SIZE", "bytes moved in a zone before going to the next", (j, v) => j.ZoneSize = Size("zonesize", v, j.KbBase, 1, long.MaxValue)),
        new("zonerange", [], false, "SIZE", "the size of a zone (default: zonesize)", (j, v) => j.ZoneRange = Size("zonerange", v, j.KbBase, 1, long.MaxValue)),
        new("zoneskip", [], false, "SIZE", "bytes skipped after each zone", (j, v) => j.ZoneSkip = Size("zoneskip", v, j.KbBase, 0, long.MaxValue)),
        new("refill_buffers", [], true, "", "new content in every write's buffer (random bytes)", (j, v) => j.RefillBuffers = Bool("refill_buffers", v)),
        new("buffer_compress_percentage", [], false, "PCT", "write buffers compress to about this percent: each chunk random bytes, then zeros (or buffer_pattern)", (j, v) => j.BufferCompressPercentage = (int)Int("buffer_compress_percentage", v, 0, 100)),
        new("buffer_compress_chunk", [], false, "SIZE", "the random/fixed pattern of buffer_compress_percentage repeats every this many bytes (default 512; 0: once per request)", (j, v) => j.BufferCompressChunk = (int)Size("buffer_compress_chunk", v, j.KbBase, 0, int.MaxValue)),
        new("dedupe_percentage", [], false, "PCT", "this percent of writes repeat an earlier write's content", (j, v) => j.DedupePercentage = (int)Int("dedupe_percentage", v, 0, 100)),
        new("dedupe_mode", [], false, "repeat|working_set", "repeat: a dedupe write repeats the last unique one; working_set: one of the job's first unique writes (dedupe_working_set_percentage of the region)", (j, v) => j.DedupeWorkingSet = Required("dedupe_mode", v).ToLowerInvariant() switch
        {
            "repeat" => false,
            "working_set" => true,
            _ => throw new JobOptionException($"dedupe_mode={v}: expected repeat or working_set"),
        }),
        new("dedupe_working_set_percentage", [], false, "PCT", "the working set of dedupe_mode=working_set: this percent of the region, in blocks (default 5)", (j, v) => j.DedupeWorkingSetPercentage = (int)Int("dedupe_working_set_percentage", v, 0, 100)),
        new("dedupe_global", [], true, "", "jobs with it share one dedupe working set, each writing its share of it", (j, v) => j.DedupeGlobal = Bool("dedupe_global", v)),
        new("log_avg_msec", [], false, "MS", "average log entries over this many ms (0: one entry per I/O)", (j, v) => j.LogAvgMsec = (int)Int("log_avg_msec", v, 0, int.MaxValue)),
        new("clat_percentiles", [], true, "", "percentiles of completion latency (default 1)", (j, v) => j.ClatPercentiles = Bool("clat_percentiles", v)),
        new("lat_percentiles", [], true, "", "percentiles of total latency too", (j, v) => j.LatPercentiles = Bool("lat_percentiles", v)),
        new("percentile_list", [], false, "P:P:...", "the percentiles to report, ':'-separated (default 1:5:10:...:99.99)", (j, v) => j.PercentileList = ParsePercentiles(v)),
    ];

    private static readonly Dictionary<string, JobOption> s_byName = BuildIndex();

    private static Dictionary<string, JobOption> BuildIndex()
    {
        var index = new Dictionary<string, JobOption>(StringComparer.Ordinal);
        foreach (JobOption option in All)
        {
            index[option.Name] = option;
            foreach (string alias in option.Aliases)
            {
                index[alias] = option;
            }
        }

        return index;
    }

    public static bool TryFind(string name, out JobOption option) => s_byName.TryGetValue(name, out option!);

    /// <summary>Applies <paramref name="name"/>=<paramref name="value"/> (value null: given bare) to a job.</summary>
    public static void Apply(JobSpec job, string name, string? value)
    {
        if (!TryFind(name, out JobOption option))
        {
            throw new JobOptionException($"unsupported option '{name}'");
        }

        if (value is null && !option.IsFlag)
        {
            throw new JobOptionException($"option '{name}' needs a value ({name}={option.ValueHint})");
        }

        option.Apply(job, value);
        job.GivenOptions.Add(new(option.Name, value ?? "1"));
    }

    private static string Required(string name, string? value)
        => string.IsNullOrWhiteSpace(value) ? throw new JobOptionException($"option '{name}' needs a value") : value.Trim();

    private static long Size(string name, string? value, int kbBase, long min, long max)
    {
        string text = Required(name, value);
        if (text.Contains(',', StringComparison.Ordinal) || text.Contains(':', StringComparison.Ordinal) || text.IndexOf('-', StringComparison.Ordinal) > 0)
        {
            throw new JobOptionException($"{name}={text}: separate read/write values and ranges are not supported; give one size");
        }

        if (!FioValues.TryParseSize(text, kbBase, out long size, out string? error))
        {
            throw new JobOptionException($"{name}={text}: {error}");
        }

        if (size < min || size > max)
        {
            throw new JobOptionException($"{name}={text}: out of range");
        }

        return size;
    }

    /// <summary>fio's irange: a size, or LOW-HIGH (either order); (size, null) when it is one size.</summary>
    private static (long Low, long? High) SizeRange(string name, string? value, int kbBase)
    {
        string text = Required(name, value);
        if (text.Contains(',', StringComparison.Ordinal) || text.Contains(':', StringComparison.Ordinal))
        {
            throw new JobOptionException($"{name}={text}: give one size or a range LOW-HIGH (separate read/write values are not supported)");
        }

        int dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0)
        {
            return (Size(name, text, kbBase, 1, long.MaxValue), null);
        }

        long a = Size(name, text[..dash], kbBase, 1, long.MaxValue);
        long b = Size(name, text[(dash + 1)..], kbBase, 1, long.MaxValue);
        return a == b ? (a, null) : (Math.Min(a, b), Math.Max(a, b));
    }

    private static long Int(string name, string? value, long min, long max)
    {
        string text = Required(name, value);
        if (!FioValues.TryParseInt(text, out long number))
        {
            throw new JobOptionException($"{name}={text}: '{text}' is not a valid number");
        }

        if (number < min || number > max)
        {
            throw new JobOptionException($"{name}={text}: must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}");
        }

        return number;
    }

    private static TimeSpan Time(string name, string? value)
    {
        string text = Required(name, value);
        return FioValues.TryParseTime(text, out TimeSpan time, out string? error)
            ? time
            : throw new JobOptionException($"{name}={text}: {error}");
    }

    /// <summary>Per-direction rates: reads, writes (a trim value is refused: kaio has no trims).</summary>
    private static long[] Rates(string name, string? value, int kbBase, bool size)
    {
        long[] all = BlockSizes.PerDirection(name, Required(name, value), 0L, part => size ? Size(name, part, kbBase, 0, long.MaxValue) : Int(name, part, 0, long.MaxValue));
        return [all[0], all[1]];
    }

    /// <summary>A log prefix: the value, or the job's name when given bare (fio's jobname_bw.N.log).</summary>
    private static string LogPrefix(JobSpec job, string? value) => string.IsNullOrWhiteSpace(value) ? job.Name : value.Trim();

    /// <summary>Per-direction integers (reads, writes), fio's comma rule.</summary>
    private static int[] PerDirection(string name, string? value, int min, int max, int fallback)
    {
        int[] all = BlockSizes.PerDirection(name, Required(name, value), fallback, part => (int)Int(name, part, min, max));
        return [all[0], all[1]];
    }

    private static double Percent(string name, string? value)
    {
        string text = Required(name, value);
        return double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double percent) && percent is >= 0 and <= 100
            ? percent
            : throw new JobOptionException($"{name}={text}: expected a percentage from 0 to 100");
    }

    /// <summary>fio's size: bytes, or a percent of the existing file (size=30%).</summary>
    private static (long? Size, double? Percent) SizeOrPercent(string? value, int kbBase)
    {
        string text = Required("size", value);
        if (!text.EndsWith('%'))
        {
            return (Size("size", text, kbBase, 1, long.MaxValue), null);
        }

        return double.TryParse(text[..^1], System.Globalization.NumberStyles.Float, CultureInfo.InvariantCulture, out double percent) && percent is > 0 and <= 100
            ? (null, percent)
            : throw new JobOptionException($"size={text}: a percentage of the file must be above 0 and at most 100");
    }

    private static byte[] Pattern(string name, string? value)
    {
        string text = Required(name, value);
        return FioValues.TryParsePattern(text, out byte[] pattern, out string? error) ? pattern : throw new JobOptionException($"{name}={text}: {error}");
    }

    /// <summary>An integer that may be negative (fio's flow weights: the sign does not change the share).</summary>
    private static long SignedInt(string name, string? value)
    {
        string text = Required(name, value);
        bool negative = text.StartsWith('-');
        long magnitude = Int(name, negative ? text[1..] : text, 0, int.MaxValue);
        return negative ? -magnitude : magnitude;
    }

    /// <summary>A time whose bare number is microseconds (fio's thinktime).</summary>
    private static TimeSpan Microseconds(string name, string? value)
    {
        string text = Required(name, value);
        return FioValues.TryParseInt(text, out long us) ? TimeSpan.FromMicroseconds(us) : Time(name, text);
    }

    /// <summary>A time or a range of times (fio's startdelay=1-5).</summary>
    private static (TimeSpan Min, TimeSpan Max) TimeRange(string name, string? value)
    {
        string text = Required(name, value);
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0)
        {
            TimeSpan single = Time(name, text);
            return (single, single);
        }

        TimeSpan a = Time(name, text[..dash]);
        TimeSpan b = Time(name, text[(dash + 1)..]);
        return a <= b ? (a, b) : (b, a);
    }

    private static bool Bool(string name, string? value)
        => FioValues.TryParseBool(value, out bool result)
            ? result
            : throw new JobOptionException($"{name}={value}: expected 0 or 1");

    /// <summary>fio's rw, with its offset modifier (options.c str_rw_cb): a size for sequential modes, a count for random ones.</summary>
    private static void ParseReadWrite(JobSpec job, string? value)
    {
        string text = Required("rw", value);
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        ReadWriteMode mode = ParseMode(colon < 0 ? text : text[..colon]);
        long skip = 0;
        int run = 0;
        if (colon >= 0)
        {
            string modifier = text[(colon + 1)..].Trim();
            if (mode.IsRandom())
            {
                run = (int)Int("rw", modifier, 0, int.MaxValue);
            }
            else
            {
                bool negative = modifier.StartsWith('-');
                skip = Size("rw", negative ? modifier[1..] : modifier, job.KbBase, 0, int.MaxValue) * (negative ? -1 : 1);
            }
        }

        job.ReadWrite = mode;
        job.RwSkip = skip;
        job.RandomRun = run;
    }

    private static ReadWriteMode ParseMode(string value) => value.Trim().ToLowerInvariant() switch
    {
        "read" => ReadWriteMode.Read,
        "write" => ReadWriteMode.Write,
        "randread" => ReadWriteMode.RandRead,
        "randwrite" => ReadWriteMode.RandWrite,
        "rw" or "readwrite" => ReadWriteMode.ReadWrite,
        "randrw" => ReadWriteMode.RandReadWrite,
        "trim" => ReadWriteMode.Trim,
        "randtrim" => ReadWriteMode.RandTrim,
        "trimwrite" => ReadWriteMode.TrimWrite,
        "randtrimwrite" => ReadWriteMode.RandTrimWrite,
        _ => throw new JobOptionException($"rw={value}: unsupported (use read, write, randread, randwrite, rw, readwrite, randrw, trim, randtrim, trimwrite or randtrimwrite)"),
    };

    private static IoEngineChoice ParseEngine(string? value)
    {
        string text = Required("ioengine", value);
        return IoEngineChoice.TryParse(text, out IoEngineChoice choice)
            ? choice
            : throw new JobOptionException($"ioengine={text}: unsupported (use {IoEngineChoice.AcceptedNames})");
    }

    /// <summary>fio's filename: ':' separates files, '\:' is a colon in a name.</summary>
    private static string[] ParseFileNames(string? value)
    {
        string text = Required("filename", value);
        string[] names = [.. text.Replace("\\:", "\0", StringComparison.Ordinal).Split(':').Select(n => n.Replace('\0', ':'))];
        return names.Any(n => n.Length == 0)
            ? throw new JobOptionException($"filename={text}: an empty name between ':' (write a colon in a name as '\\:')")
            : names;
    }

    private static (FileService Service, int Ios, RandomDistribution Files) ParseFileService(string? value)
    {
        string text = Required("file_service_type", value);
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string kind = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        if (kind is "zipf" or "pareto" or "normal" or "gauss")
        {
            // fio's str_fst_cb(): zipf θ 1.1 and pareto h 0.2 by default, normal's deviation 0; a new draw for every request.
            string parameter = colon >= 0 ? text[(colon + 1)..] : kind switch { "zipf" => "1.1", "pareto" => "0.2", _ => "0" };
            try
            {
                return (FileService.Distribution, 1, RandomDistribution.Parse(kind + ":" + parameter, 1024));
            }
            catch (JobOptionException e)
            {
                throw new JobOptionException($"file_service_type={text}: {e.Message[(e.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..]}");
            }
        }

        FileService service = kind switch
        {
            "roundrobin" => FileService.RoundRobin,
            "sequential" => FileService.Sequential,
            "random" => FileService.Random,
            _ => throw new JobOptionException($"file_service_type={text}: expected roundrobin, sequential, random, zipf, pareto or normal"),
        };
        return (service, colon < 0 ? 1 : (int)Int("file_service_type", text[(colon + 1)..], 1, int.MaxValue), RandomDistribution.Uniform);
    }

    private static SyncMode ParseSync(string? value, SyncMode current) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "1" or "true" or "sync" => SyncMode.Sync,
        "0" or "false" or "none" => current == SyncMode.Sync ? SyncMode.None : current,
        "dsync" => SyncMode.Dsync,
        _ => throw new JobOptionException($"sync={value}: expected 0, 1, none, sync or dsync"),
    };

    private static VerifyMode ParseVerify(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "1" or "true" or "xxhash" or "xxhash64" => VerifyMode.XxHash64,
        "crc64" => VerifyMode.Crc64,
        "meta" => VerifyMode.XxHash64, // kaio's header always carries the block's offset, seed and write number
        "crc32c" or "crc32c-intel" => VerifyMode.Crc32c,
        "crc32" => VerifyMode.Crc32,
        "md5" => VerifyMode.Md5,
        "sha1" => VerifyMode.Sha1,
        "sha256" => VerifyMode.Sha256,
        "sha512" => VerifyMode.Sha512,
        "0" or "false" or "none" => VerifyMode.None,
        _ => throw new JobOptionException($"verify={value}: unsupported (kaio verifies with xxhash, crc64, crc32c, crc32, md5, sha1, sha256, sha512 or meta)"),
    };

    private static double[] ParsePercentiles(string? value)
    {
        string text = Required("percentile_list", value);
        var list = new List<double>();
        foreach (string part in text.Split(':'))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double percentile) || percentile is < 0 or > 100)
            {
                throw new JobOptionException($"percentile_list={text}: '{part}' is not a percentile between 0 and 100");
            }

            list.Add(percentile);
        }

        if (list.Count > 20)
        {
            throw new JobOptionException($"percentile_list={text}: at most 20 percentiles, as in fio");
        }

        list.Sort();
        return [.. list];
    }

    private static int ParseKbBase(string? value) => Required("kb_base", value) switch
    {
        "1024" => 1024,
        "1000" => 1000,
        _ => throw new JobOptionException($"kb_base={value}: expected 1024 or 1000"),
    };
}
