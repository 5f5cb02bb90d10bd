using System.Globalization;
using System.IO.Hashing;
using System.Text.Json;
using Kaio.Cli.Jobs;
using Kaio.Cli.Tests.Infrastructure;
using Kaio.Cli.Workloads;

namespace Kaio.Cli.Tests;

/// <summary>
/// The options of fio's examples that kaio refused until issue 13's last steps: I/O priorities
/// (cmdprio-percentage, cmdprio-bssplit), buffer contents (dedupe-global), strided zones and
/// log_offset (disk-zone-profile), latency_target and lfsr (latency-profile). Each test checks
/// what the option does in what kaio wrote or issued.
/// </summary>
public class FioExampleOptionsTests
{
    private static KaioCli.Result Run(TempDirectory dir, string jobFile, params string[] extra)
    {
        string path = dir.WriteJobFile("job.fio", jobFile.Replace("DIR", dir.Path, StringComparison.Ordinal));
        return KaioCli.Run(["bench", path, "--output-format=json", .. extra]);
    }

    private static JsonElement RunJson(TempDirectory dir, string jobFile)
    {
        KaioCli.Result result = Run(dir, jobFile);
        Assert.True(result.Exit == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        return doc.RootElement.Clone();
    }

    /// <summary>The fields of each line of a fio log; 0x values (log_prio) read as hex.</summary>
    private static List<long[]> ReadLog(string path)
        => [.. File.ReadAllLines(path).Select(line => line.Split(", ").Select(f => f.StartsWith("0x", StringComparison.Ordinal)
            ? long.Parse(f[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : long.Parse(f, CultureInfo.InvariantCulture)).ToArray())];

    private static List<byte[]> Blocks(string path, int bs)
    {
        byte[] all = File.ReadAllBytes(path);
        return [.. Enumerable.Range(0, all.Length / bs).Select(i => all.AsSpan(i * bs, bs).ToArray())];
    }

    private static ulong Hash(byte[] block) => XxHash64.HashToUInt64(block);

    /// <summary>cmdprio-percentage.fio: prioclass for the job, cmdprio_percentage of the requests in cmdprio_class; log_prio shows each value.</summary>
    [Fact]
    public void CmdprioPercentage_ThatShareOfRequestsGetsTheCmdprioClass_TheRestTheJobsClass()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [global]
            filename=DIR/data
            size=4m
            bs=4k
            rw=randread
            ioengine=libaio
            iodepth=8
            prioclass=3
            cmdprio_percentage=20
            cmdprio_class=2
            cmdprio=1
            [p]
            write_lat_log=DIR/p
            log_prio=1
            """);
        List<long[]> clat = ReadLog(dir.File("p_clat.1.log"));
        Assert.Equal(1024, clat.Count);
        Assert.All(clat, e => Assert.Equal(5, e.Length)); // msec, value, direction, bs, priority (no offset without log_offset)
        int cmdprio = clat.Count(e => e[4] == 0x4001);   // class 2 << 13 | level 1
        int job = clat.Count(e => e[4] == 0x6000);       // class 3 (idle) << 13
        Assert.Equal(1024, cmdprio + job);
        Assert.InRange(cmdprio, 1024 * 15 / 100, 1024 * 25 / 100);

        // fio's prios in the report: the job's priority first, each with its own latencies.
        JsonElement[] prios = [.. root.GetProperty("jobs")[0].GetProperty("read").GetProperty("prios").EnumerateArray()];
        Assert.Equal([(3, 0, (long)job), (2, 1, (long)cmdprio)], prios.Select(p => (p.GetProperty("prioclass").GetInt32(), p.GetProperty("prio").GetInt32(), p.GetProperty("clat_ns").GetProperty("N").GetInt64())));
    }

    /// <summary>log_prio=0: the column is 1 for a real-time request and 0 for others (needs CAP_SYS_NICE for the real-time class).</summary>
    [Fact]
    public void CmdprioPercentage_WithoutLogPrio_MarksRealTimeRequestsWithOne()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "the real-time I/O class needs CAP_SYS_NICE (root)");
        using var dir = new TempDirectory();
        RunJson(dir, """
            [rt]
            filename=DIR/data
            size=2m
            rw=randread
            ioengine=io_uring
            iodepth=4
            cmdprio_percentage=30
            write_lat_log=DIR/rt
            """);
        List<long[]> clat = ReadLog(dir.File("rt_clat.1.log"));
        Assert.All(clat, e => Assert.InRange(e[4], 0, 1));
        Assert.InRange(clat.Count(e => e[4] == 1), 512 * 20 / 100, 512 * 40 / 100);
    }

    /// <summary>cmdprio-bssplit.fio: per request size, the share given each entry's class and level.</summary>
    [Fact]
    public void CmdprioBssplit_EachSizeGetsItsEntriesShares()
    {
        using var dir = new TempDirectory();
        RunJson(dir, """
            [split]
            filename=DIR/data
            size=4m
            rw=randread
            bssplit=4k/50:16k/50
            cmdprio_bssplit=4k/100/2/1:16k/25/3/0:16k/25/2/5
            ioengine=libaio
            iodepth=8
            write_lat_log=DIR/s
            log_prio=1
            log_offset=1
            """);
        List<long[]> clat = ReadLog(dir.File("s_clat.1.log"));
        Assert.All(clat, e => Assert.Equal(6, e.Length)); // log_offset adds the offset before the priority
        Assert.All(clat.Where(e => e[3] == 4096), e => Assert.Equal(0x4001, e[5]));
        long[][] large = [.. clat.Where(e => e[3] == 16384)];
        Assert.All(large, e => Assert.Contains(e[5], (long[])[0x6000, 0x4005, 0]));
        Assert.InRange(large.Count(e => e[5] == 0x6000), large.Length * 15 / 100, large.Length * 35 / 100);
        Assert.InRange(large.Count(e => e[5] == 0x4005), large.Length * 15 / 100, large.Length * 35 / 100);
        Assert.InRange(large.Count(e => e[5] == 0), large.Length * 40 / 100, large.Length * 60 / 100);
        Assert.Contains(clat, e => e[4] > 0); // offsets
    }

    /// <summary>cmdprio_bssplit's fifth field, a priority hint: in each request's value (bits 3–12) and, with hints, the report's priohint.</summary>
    [Fact]
    public void CmdprioBssplit_Hints_InTheValueAndTheReport()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [hints]
            filename=DIR/data
            size=2m
            rw=randread
            cmdprio_bssplit=4k/50/2/0/1:4k/50/2/0/3
            ioengine=io_uring
            write_lat_log=DIR/h
            log_prio=1
            """);
        List<long[]> clat = ReadLog(dir.File("h_clat.1.log"));
        Assert.All(clat, e => Assert.Contains(e[4], (long[])[0x4008, 0x4018]));   // class 2 << 13 | hint << 3
        JsonElement[] prios = [.. root.GetProperty("jobs")[0].GetProperty("read").GetProperty("prios").EnumerateArray()];
        Assert.Equal([1, 3], prios.Select(p => p.GetProperty("priohint").GetInt32()));
        Assert.Equal(512, prios.Sum(p => p.GetProperty("clat_ns").GetProperty("N").GetInt64()));
    }

    /// <summary>The text report prints a line per priority, as fio does.</summary>
    [Fact]
    public void CmdprioPercentage_TextReport_ALinePerPriority()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteJobFile("job.fio", $"[p]\nfilename={dir.File("data")}\nsize=1m\nrw=randread\nioengine=libaio\nprioclass=3\ncmdprio_percentage=50\ncmdprio_class=2\n");
        KaioCli.Result result = KaioCli.Run("bench", path);
        Assert.True(result.Exit == 0, result.ToString());
        string[] lines = [.. result.Out.Split('\n').Where(l => l.StartsWith("p read: prio ", StringComparison.Ordinal))];
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("p read: prio 2/0: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("p read: prio 3/0: ", lines[1], StringComparison.Ordinal);
        Assert.Equal(256, lines.Sum(l => int.Parse(l.Split(": ")[2].Split(' ')[0], CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Cmdprio_PercentageAndBssplitTogether_AreRefused()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = Run(dir, "[x]\nfilename=DIR/data\nsize=1m\ncmdprio_percentage=10\ncmdprio_bssplit=4k/10\n");
        Assert.Equal(2, result.Exit);
        Assert.Contains("cmdprio_percentage and cmdprio_bssplit", result.Err, StringComparison.Ordinal);
    }

    /// <summary>dedupe_percentage (dedupe_mode=repeat): that share of the written blocks repeat an earlier one.</summary>
    [Fact]
    public void DedupePercentage_Repeat_ThatShareOfWrittenBlocksAreDuplicates()
    {
        using var dir = new TempDirectory();
        RunJson(dir, """
            [d]
            filename=DIR/data
            size=4m
            bs=4k
            rw=write
            dedupe_percentage=40
            """);
        List<byte[]> blocks = Blocks(dir.File("data"), 4096);
        Assert.Equal(1024, blocks.Count);
        var seen = new HashSet<ulong>();
        int duplicates = blocks.Count(b => !seen.Add(Hash(b)));
        Assert.InRange(duplicates, 1024 * 33 / 100, 1024 * 47 / 100);
    }

    /// <summary>dedupe_mode=working_set: duplicates come from the first unique writes, dedupe_working_set_percentage of the region.</summary>
    [Fact]
    public void DedupeWorkingSet_DuplicatesAreDrawnFromTheWorkingSet()
    {
        using var dir = new TempDirectory();
        RunJson(dir, """
            [w]
            filename=DIR/data
            size=4m
            bs=4k
            rw=write
            dedupe_percentage=50
            dedupe_mode=working_set
            dedupe_working_set_percentage=5
            """);
        List<byte[]> blocks = Blocks(dir.File("data"), 4096);
        var first = new Dictionary<ulong, int>();
        var duplicateOf = new List<int>();
        for (int i = 0; i < blocks.Count; i++)
        {
            ulong hash = Hash(blocks[i]);
            if (!first.TryAdd(hash, i))
            {
                duplicateOf.Add(first[hash]);
            }
        }

        Assert.InRange(duplicateOf.Count, 1024 * 42 / 100, 1024 * 58 / 100);
        // 5 % of 1024 blocks: the working set is 51 blocks, every duplicate one of them.
        Assert.True(duplicateOf.Distinct().Count() <= 51, $"{duplicateOf.Distinct().Count()} blocks repeated");
        Assert.True(duplicateOf.Distinct().Count() > 40, "the duplicates spread over the working set");
    }

    /// <summary>dedupe-global.fio: with dedupe_global the jobs share one working set, so one file repeats blocks of the other.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DedupeGlobal_JobsShareTheWorkingSet(bool global)
    {
        using var dir = new TempDirectory();
        RunJson(dir, $"""
            [global]
            size=2m
            bs=4k
            rw=write
            dedupe_percentage=50
            dedupe_mode=working_set
            dedupe_working_set_percentage=10
            dedupe_global={(global ? 1 : 0)}
            [a]
            filename=DIR/a
            [b]
            filename=DIR/b
            """);
        var inA = Blocks(dir.File("a"), 4096).Select(Hash).ToHashSet();
        int shared = Blocks(dir.File("b"), 4096).Count(b => inA.Contains(Hash(b)));
        if (global)
        {
            Assert.InRange(shared, 512 * 15 / 100, 512 * 75 / 100);
        }
        else
        {
            Assert.Equal(0, shared);
        }
    }

    /// <summary>buffer_compress_percentage with buffer_compress_chunk: each chunk random bytes, then zeros; every block new (refill).</summary>
    [Fact]
    public void BufferCompressPercentage_EachChunkIsRandomThenZeros()
    {
        using var dir = new TempDirectory();
        RunJson(dir, """
            [c]
            filename=DIR/data
            size=1m
            bs=4k
            rw=write
            buffer_compress_percentage=75
            buffer_compress_chunk=1k
            """);
        List<byte[]> blocks = Blocks(dir.File("data"), 4096);
        foreach (byte[] block in blocks)
        {
            for (int chunk = 0; chunk < 4096; chunk += 1024)
            {
                Assert.True(block.AsSpan(chunk + 256, 768).IndexOfAnyExcept((byte)0) < 0, "the fixed 75 % of a chunk is zeros");
                Assert.True(block.AsSpan(chunk, 256).Count((byte)0) < 32, "the first 25 % is random");
            }
        }

        Assert.Equal(blocks.Count, blocks.Select(Hash).Distinct().Count());
    }

    [Fact]
    public void BufferContent_WithVerify_IsRefused()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = Run(dir, "[x]\nfilename=DIR/data\nsize=1m\nrw=write\nverify=crc32c\ndedupe_percentage=10\n");
        Assert.Equal(2, result.Exit);
        Assert.Contains("dedupe_percentage", result.Err, StringComparison.Ordinal);
    }

    private static JobSpec Job(params string[] options)
    {
        var job = new JobSpec();
        foreach (string option in options)
        {
            int equals = option.IndexOf('=', StringComparison.Ordinal);
            JobOptions.Apply(job, option[..equals], option[(equals + 1)..]);
        }

        Assert.Null(job.Validate());
        return job;
    }

    private static List<long> Offsets(JobSpec job, long region, int count)
    {
        var source = new OffsetSource(0, region, job, -1, job.Seed, 0, trackBusy: false);
        var offsets = new List<long>();
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(NextIo.Ready, source.TryNext(out long offset, out _, out _));
            offsets.Add(offset);
        }

        return offsets;
    }

    /// <summary>disk-zone-profile.fio: zonemode=strided reads zonesize bytes, then skips zoneskip, and wraps at the end.</summary>
    [Fact]
    public void ZonemodeStrided_Sequential_ZonesizeBytesThenSkip()
    {
        JobSpec job = Job("rw=read", "bs=4k", "zonemode=strided", "zonesize=8k", "zoneskip=8k");
        Assert.Equal([0, 4096, 16384, 20480, 32768, 36864, 49152, 53248, 0, 4096], Offsets(job, 64 * 1024, 10));
    }

    /// <summary>Random requests stay inside the current zone (zonerange) until zonesize bytes went there.</summary>
    [Fact]
    public void ZonemodeStrided_Random_StaysInsideEachZone()
    {
        JobSpec job = Job("rw=randread", "bs=4k", "zonemode=strided", "zonesize=32k", "zonerange=16k", "zoneskip=16k");
        List<long> offsets = Offsets(job, 1 << 20, 24);
        for (int i = 0; i < offsets.Count; i++)
        {
            long zone = (i / 8) * 32768; // 8 requests of 4k fill zonesize; zones are zonerange + zoneskip apart
            Assert.InRange(offsets[i], zone, zone + 16384 - 4096);
        }
    }

    /// <summary>latency-profile.fio: random_generator=lfsr visits every block once before any repeats.</summary>
    [Theory]
    [InlineData(256)]
    [InlineData(100)]
    [InlineData(1)]
    public void Lfsr_EveryBlockOnceBeforeAnyRepeats(int blocks)
    {
        JobSpec job = Job("rw=randread", "bs=4k", "random_generator=lfsr");
        List<long> offsets = Offsets(job, blocks * 4096L, blocks * 2);
        long[] all = [.. Enumerable.Range(0, blocks).Select(b => b * 4096L)];
        Assert.Equal(all, offsets.Take(blocks).Order());
        Assert.Equal(all, offsets.Skip(blocks).Order());
        if (blocks > 4)
        {
            Assert.NotEqual(all, offsets.Take(blocks)); // not sequential
        }
    }

    [Fact]
    public void Lfsr_WithVariableBlockSizes_IsRefused()
    {
        var job = new JobSpec();
        JobOptions.Apply(job, "bsrange", "4k-16k");
        JobOptions.Apply(job, "random_generator", "lfsr");
        Assert.Contains("lfsr", job.Validate(), StringComparison.Ordinal);
    }

    private static double DepthLevel(JsonElement job, string key) => job.GetProperty("iodepth_level").GetProperty(key).GetDouble();

    /// <summary>latency_target met at every depth: the depth doubles each window up to iodepth, then the job ends.</summary>
    [Fact]
    public void LatencyTarget_Met_DepthRisesToIodepthAndTheJobEnds()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [probe]
            filename=DIR/data
            size=1m
            rw=randread
            ioengine=null
            iodepth=8
            iodepth_batch_submit=0
            latency_target=10s
            latency_window=50ms
            runtime=20s
            time_based
            """);
        JsonElement job = root.GetProperty("jobs")[0];
        // The report is the final window's, at the depth found (fio resets its statistics there).
        // Every free slot goes in one call (iodepth_batch_submit=0), so each call counts at that depth.
        Assert.Equal(100, DepthLevel(job, "8"));
        Assert.True(job.GetProperty("read").GetProperty("total_ios").GetInt64() > 0);
        Assert.True(job.GetProperty("read").GetProperty("runtime").GetInt64() < 10_000, "the job ended once the depth was found, long before its runtime");
    }

    /// <summary>
    /// iodepth_mean (kaio's own key) is the mean depth right after each submission, the job's
    /// effective depth. A null-engine job that reaps one completion per call (fio's default
    /// iodepth_batch_complete_max, the min: 1) refills one slot at a time and sits at its iodepth;
    /// one that reaps every completion at once (iodepth_batch_complete_max=iodepth; kaio's default
    /// before it took fio's) empties its queue and refills it one request per call, at depths
    /// 1, 2, …, iodepth: a mean of (iodepth + 1) / 2. group_reporting of two jobs reports one
    /// job's depth, not their sum.
    /// </summary>
    [Theory]
    [InlineData(1, 0, 1, 1.0)]
    [InlineData(8, 0, 1, 8.0)]
    [InlineData(8, 1, 2, 8.0)]
    [InlineData(8, 8, 1, 4.5)]
    public void Json_IodepthMean_IsTheDepthEachSubmissionLeftInFlight(int iodepth, int completeMax, int numjobs, double expected)
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, $"""
            [probe]
            filename=DIR/data
            size=1m
            rw=randread
            ioengine=null
            iodepth={iodepth}
            iodepth_batch_complete_max={completeMax}
            numjobs={numjobs}
            group_reporting
            runtime=200ms
            time_based
            """);
        JsonElement job = root.GetProperty("jobs")[0];
        Assert.InRange(job.GetProperty("iodepth_mean").GetDouble(), expected - 0.02, expected + 0.02);
    }

    /// <summary>latency_target missed by a share of the I/Os under latency_percentile: the depth stays at 1.</summary>
    [Fact]
    public void LatencyTarget_MissedWithPercentile_StaysAtDepthOne()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [probe]
            filename=DIR/data
            size=1m
            rw=randread
            direct=1
            ioengine=libaio
            iodepth=8
            latency_target=1
            latency_window=100ms
            latency_percentile=50
            runtime=500ms
            time_based
            """);
        Assert.Equal(100, DepthLevel(root.GetProperty("jobs")[0], "1"));
    }

    /// <summary>latency_target missed at depth 1 with the default latency_percentile=100 fails the job, as in fio.</summary>
    [Fact]
    public void LatencyTarget_MissedAtDepthOne_FailsTheJob()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = Run(dir, "[probe]\nfilename=DIR/data\nsize=1m\nrw=randread\ndirect=1\nioengine=libaio\niodepth=4\nlatency_target=1\nlatency_window=1s\n");
        Assert.Equal(1, result.Exit);
        Assert.Contains("exceeds latency_target", result.Out, StringComparison.Ordinal);
    }

    /// <summary>write_bw_log given bare names the log after the job, as fio's jobname_bw.N.log.</summary>
    [Fact]
    public void WriteBwLog_Bare_UsesTheJobsName()
    {
        List<JobSpec> jobs = JobFileParser.Parse("[disk-zone-profile]\nsize=1m\nwrite_bw_log\nlog_offset=1\n[named]\nsize=1m\nwrite_bw_log=p\n", "z.fio", new JobSpec());
        Assert.Equal(("disk-zone-profile", true), (jobs[0].BwLog, jobs[0].LogOffset));
        Assert.Equal("p", jobs[1].BwLog);
    }
}

/// <summary>Several files per job: nrfiles, filename_format, filename=a:b, file_service_type, unlink.</summary>
public class MultiFileTests
{
    private static readonly byte[] s_pattern = [0xde, 0xad, 0xbe, 0xef];

    private static KaioCli.Result Run(TempDirectory dir, string jobFile)
    {
        string path = dir.WriteJobFile("job.fio", jobFile.Replace("DIR", dir.Path, StringComparison.Ordinal));
        return KaioCli.Run("bench", path, "--output-format=json");
    }

    /// <summary>Which 4 KiB blocks of a file carry the write pattern (were written by the job, not laid out).</summary>
    private static bool[] Written(string path)
    {
        byte[] all = File.ReadAllBytes(path);
        return [.. Enumerable.Range(0, all.Length / 4096).Select(b => all.AsSpan(b * 4096, 4).SequenceEqual(s_pattern))];
    }

    [Fact]
    public void Nrfiles_FilenameFormat_EachThreadWritesItsNFilesEachSizeOverN()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = Run(dir, """
            [many]
            directory=DIR
            filename_format=sub/f.$jobname.$jobnum.$filenum
            nrfiles=4
            numjobs=2
            size=256k
            bs=4k
            rw=write
            buffer_pattern=0xdeadbeef
            """);
        Assert.True(result.Exit == 0, result.ToString());
        for (int thread = 0; thread < 2; thread++)
        {
            for (int file = 0; file < 4; file++)
            {
                string path = Path.Combine(dir.Path, "sub", $"f.many.{thread}.{file}");
                Assert.Equal(64 * 1024, new FileInfo(path).Length);
                Assert.All(Written(path), w => Assert.True(w));
            }
        }

        Assert.Equal(8 + 1, Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories).Length); // the files and the job file
    }

    [Theory]
    [InlineData("roundrobin")]
    [InlineData("sequential")]
    public void FileServiceType_DecidesWhichFilesTheBytesGoTo(string service)
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = Run(dir, $"""
            [svc]
            filename_format=DIR/s.$filenum
            nrfiles=4
            filesize=64k
            io_size=128k
            bs=4k
            rw=write
            file_service_type={service}
            buffer_pattern=0xdeadbeef
            """);
        Assert.True(result.Exit == 0, result.ToString());
        bool[][] files = [.. Enumerable.Range(0, 4).Select(f => Written(dir.File($"s.{f}")))];
        if (service == "roundrobin")
        {
            // Each file in turn, sequential within each: the first half of every file.
            Assert.All(files, blocks => Assert.Equal(Enumerable.Range(0, 16).Select(b => b < 8), blocks));
        }
        else
        {
            // One file after another: the first two files whole, the others untouched.
            Assert.Equal([true, true, false, false], files.Select(blocks => blocks.All(w => w)));
            Assert.Equal([true, true, false, false], files.Select(blocks => blocks.Any(w => w)));
        }
    }

    [Fact]
    public void FilenameWithColons_NamesTheFiles_SizeIsSplitBetweenThem()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = Run(dir, """
            [ab]
            filename=DIR/a:DIR/b
            size=128k
            rw=write
            buffer_pattern=0xdeadbeef
            """);
        Assert.True(result.Exit == 0, result.ToString());
        foreach (string name in (string[])["a", "b"])
        {
            Assert.Equal(64 * 1024, new FileInfo(dir.File(name)).Length);
            Assert.All(Written(dir.File(name)), w => Assert.True(w));
        }
    }

    [Fact]
    public void Nrfiles_WithUnlink_RemovesEveryFile_WithoutFormat_KaiosTemporaryFilesGoToo()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = Run(dir, """
            [gone]
            filename_format=DIR/g.$filenum
            nrfiles=3
            size=48k
            rw=randread
            unlink=1
            [temp]
            stonewall
            directory=DIR
            nrfiles=3
            size=48k
            rw=read
            """);
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal([dir.File("job.fio")], Directory.GetFiles(dir.Path));
        using var doc = System.Text.Json.JsonDocument.Parse(result.Out);
        Assert.All(doc.RootElement.GetProperty("jobs").EnumerateArray(), j => Assert.Equal(48 * 1024, j.GetProperty("read").GetProperty("io_bytes").GetInt64()));
    }

    /// <summary>file_service_type=zipf: files drawn by a Zipf distribution for every request; random:N keeps a file for N requests.</summary>
    [Fact]
    public void FileServiceType_ZipfSkewsTheFiles_RandomWithCountKeepsAFileForNRequests()
    {
        static int[] FilesOf(string service, int count)
        {
            var job = new JobSpec();
            foreach ((string name, string value) in (ReadOnlySpan<(string, string)>)[("rw", "randread"), ("nrfiles", "8"), ("file_service_type", service)])
            {
                JobOptions.Apply(job, name, value);
            }

            Assert.Null(job.Validate());
            var source = new OffsetSource(0, 8 * 65536, job, -1, job.Seed, 0, trackBusy: false, fileStarts: [.. Enumerable.Range(0, 9).Select(f => f * 65536L)]);
            var files = new int[count];
            for (int i = 0; i < count; i++)
            {
                Assert.Equal(NextIo.Ready, source.TryNext(out long offset, out _, out _));
                files[i] = (int)(offset / 65536);
            }

            return files;
        }

        int[] zipf = FilesOf("zipf:1.5", 4000);
        int[] perFile = [.. Enumerable.Range(0, 8).Select(f => zipf.Count(x => x == f)).OrderDescending()];
        // θ 1.5 over 8 files: about 52 % to the hottest rank (ranks are scattered over the files by a
        // hash, as fio's are, so two ranks may share a file); uniform draws give each about 12.5 %.
        Assert.InRange(perFile[0], 4000 * 40 / 100, 4000 * 80 / 100);
        Assert.InRange(FilesOf("random", 4000).CountBy(f => f).Max(p => p.Value), 4000 * 10 / 100, 4000 * 16 / 100);

        int[] runs = FilesOf("random:4", 400);
        Assert.All(runs.Chunk(4), run => Assert.All(run, f => Assert.Equal(run[0], f)));
        Assert.True(runs.Distinct().Count() > 4, "new files are drawn");
    }

    /// <summary>verify over several files: written blocks carry their offset in their own file; a later verify_only pass checks every file and finds a corrupted byte.</summary>
    [Fact]
    public void Nrfiles_WithVerify_ChecksEveryFile_AndFindsACorruptedOne()
    {
        using var dir = new TempDirectory();
        const string Files = """
            [global]
            filename_format=DIR/v.$jobnum.$filenum
            nrfiles=3
            numjobs=2
            size=96k
            bs=4k
            verify=crc32c
            """;
        KaioCli.Result written = Run(dir, Files + "\n[w]\nrw=randwrite\niodepth=4\n");
        Assert.True(written.Exit == 0, written.ToString());
        Assert.Equal(6, Directory.GetFiles(dir.Path, "v.*").Length);

        KaioCli.Result verified = Run(dir, Files + "\n[w]\nrw=read\nverify_only\n");
        Assert.True(verified.Exit == 0, verified.ToString());

        using (Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(dir.File("v.1.2"), FileMode.Open, FileAccess.ReadWrite))
        {
            byte[] one = new byte[1];
            RandomAccess.Read(file, one, 8192 + 100);
            one[0] ^= 0xff;
            RandomAccess.Write(file, one, 8192 + 100);
        }

        KaioCli.Result corrupted = Run(dir, Files + "\n[w]\nrw=read\nverify_only\n");
        Assert.Equal(1, corrupted.Exit);
        Assert.Contains("corrupted block at offset 8192", corrupted.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Nrfiles_VerifyWithFilesSharedByThreads_IsRefused()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = Run(dir, "[v]\nfilename=DIR/a:DIR/b\nnumjobs=2\nsize=64k\nrw=write\nverify=crc32c\n");
        Assert.Equal(2, result.Exit);
        Assert.Contains("give each thread its own files", result.Err, StringComparison.Ordinal);
    }
}

/// <summary>rw=trim and randtrim: fio's trims, on a regular file as punched holes.</summary>
public class TrimTests
{
    private static long AllocatedBytes(string path)
    {
        var start = new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        string[] fields = process.StandardOutput.ReadToEnd().Trim().Split(' ');
        process.WaitForExit();
        return long.Parse(fields[0], CultureInfo.InvariantCulture) * long.Parse(fields[1], CultureInfo.InvariantCulture);
    }

    [Theory]
    [InlineData("io_uring")]
    [InlineData("libaio")]
    [InlineData("threadpool")]
    [InlineData("io_uring:await")]
    public void Trim_PunchesHoles_TheBlocksReadZerosAndTheirSpaceIsFreed(string engine)
    {
        using var dir = new TempDirectory();
        string data = dir.File("data");

        // A job that only trims does not write its file's layout (fio's extend_file(): reserved, not written), so the data is the test's.
        using (var stream = new FileStream(data, FileMode.CreateNew, FileAccess.Write))
        {
            stream.Write(System.Security.Cryptography.RandomNumberGenerator.GetBytes(1 << 20));
            stream.Flush(flushToDisk: true);
        }

        string path = dir.WriteJobFile("job.fio", $"""
            [trim]
            filename={data}
            size=1m
            io_size=512k
            bs=64k
            rw=trim
            ioengine={engine}
            iodepth=4
            """);
        KaioCli.Result result = KaioCli.Run("bench", path, "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        JsonElement trim = doc.RootElement.GetProperty("jobs")[0].GetProperty("trim");
        Assert.Equal((512L * 1024, 8L), (trim.GetProperty("io_bytes").GetInt64(), trim.GetProperty("total_ios").GetInt64()));

        byte[] bytes = File.ReadAllBytes(data);
        Assert.Equal(1 << 20, bytes.Length);                              // KEEP_SIZE: the length stays
        Assert.True(bytes.AsSpan(0, 512 * 1024).IndexOfAnyExcept((byte)0) < 0, "the trimmed half reads zeros");
        Assert.True(bytes.AsSpan(512 * 1024).Count((byte)0) < 16 * 1024, "the rest keeps its bytes");
        Assert.InRange(AllocatedBytes(data), 256 * 1024, 768 * 1024);       // 1 MiB written; half of it freed
    }

    [Fact]
    public void Randtrim_TrimsRandomBlocksOfTheTrimSize()
    {
        using var dir = new TempDirectory();
        string data = dir.File("data");
        string path = dir.WriteJobFile("job.fio", $"[rt]\nfilename={data}\nsize=1m\nbs=4k,4k,16k\nrw=randtrim\nnumber_ios=16\nwrite_lat_log={dir.File("t")}\nlog_offset=1\n");
        KaioCli.Result result = KaioCli.Run("bench", path, "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        string[] lines = File.ReadAllLines(dir.File("t_clat.1.log"));
        Assert.Equal(16, lines.Length);
        byte[] bytes = File.ReadAllBytes(data);
        foreach (string line in lines)
        {
            string[] fields = line.Split(", ");
            Assert.Equal(("2", "16384"), (fields[2], fields[3]));          // direction 2 (trim), the trim size
            long offset = long.Parse(fields[4], CultureInfo.InvariantCulture);
            Assert.True(bytes.AsSpan((int)offset, 16384).IndexOfAnyExcept((byte)0) < 0);
        }
    }

    /// <summary>--compare of a trim job leaves out RandomAccess, which cannot punch holes, and says so.</summary>
    [Fact]
    public void Compare_TrimJob_SkipsRandomAccessNamingWhy()
    {
        using var dir = new TempDirectory();
        KaioCli.Result text = KaioCli.Run("bench", "--compare", "--rw=trim", "--size=256k", "--bs=64k", "--filename=" + dir.File("data"));
        Assert.True(text.Exit == 0, text.ToString());
        Assert.Contains("randomaccess: not compared: rw=trim", text.Out, StringComparison.Ordinal);
        KaioCli.Result result = KaioCli.Run("bench", "--compare", "--rw=trim", "--size=256k", "--bs=64k", "--filename=" + dir.File("data"), "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        Assert.DoesNotContain(doc.RootElement.GetProperty("jobs").EnumerateArray(), j => j.GetProperty("engine").GetString() == "randomaccess");
        Assert.All(doc.RootElement.GetProperty("jobs").EnumerateArray(), j => Assert.Equal(256 * 1024, j.GetProperty("trim").GetProperty("io_bytes").GetInt64()));
    }

    /// <summary>Trims are sampled like reads and writes: fio's trim bw_* and iops_* in the report.</summary>
    [Fact]
    public void Randtrim_TimeBased_HasBandwidthAndIopsSamples()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteJobFile("job.fio", $"[rt]\nfilename={dir.File("data")}\nsize=1m\nrw=randtrim\nruntime=1s\ntime_based\n");
        KaioCli.Result result = KaioCli.Run("bench", path, "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        JsonElement trim = doc.RootElement.GetProperty("jobs")[0].GetProperty("trim");
        Assert.True(trim.GetProperty("bw_samples").GetInt64() >= 1, trim.ToString());
        Assert.True(trim.GetProperty("iops_samples").GetInt64() >= 1, trim.ToString());
        Assert.True(trim.GetProperty("iops_mean").GetDouble() > 0, trim.ToString());
    }

    /// <summary>trimwrite: each block trimmed, then written; randtrimwrite the same at random offsets; the writes count toward size.</summary>
    [Theory]
    [InlineData("trimwrite")]
    [InlineData("randtrimwrite")]
    public void Trimwrite_EachBlockTrimmedThenWritten(string mode)
    {
        var job = new Jobs.JobSpec();
        Jobs.JobOptions.Apply(job, "rw", mode);
        Assert.Null(job.Validate());
        var source = new OffsetSource(0, 64 * 1024, job, 16 * 1024, job.Seed, 0, trackBusy: false);
        var requests = new List<(long Offset, int Length, bool IsWrite, bool IsTrim)>();
        while (source.TryNext(out long offset, out int length, out bool isWrite, out bool isTrim) == NextIo.Ready)
        {
            requests.Add((offset, length, isWrite, isTrim));
        }

        Assert.Equal(8, requests.Count);
        foreach ((var trim, var write) in requests.Chunk(2).Select(pair => (pair[0], pair[1])))
        {
            Assert.Equal((true, true), (trim.IsWrite, trim.IsTrim));
            Assert.Equal((trim.Offset, trim.Length, true, false), write);
        }

        long[] trimmed = [.. requests.Where(r => r.IsTrim).Select(r => r.Offset)];
        Assert.Equal(mode == "trimwrite", trimmed.SequenceEqual([0, 4096, 8192, 12288]));
    }

    [Fact]
    public void Trimwrite_EndToEnd_TrimsAndWritesEveryBlock()
    {
        using var dir = new TempDirectory();
        string data = dir.File("data");
        string path = dir.WriteJobFile("job.fio", $"[tw]\nfilename={data}\nsize=256k\nbs=16k\nrw=trimwrite\nioengine=io_uring\n");
        KaioCli.Result result = KaioCli.Run("bench", path, "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        JsonElement job = doc.RootElement.GetProperty("jobs")[0];
        Assert.Equal((256L * 1024, 16L), (job.GetProperty("trim").GetProperty("io_bytes").GetInt64(), job.GetProperty("trim").GetProperty("total_ios").GetInt64()));
        Assert.Equal((256L * 1024, 16L), (job.GetProperty("write").GetProperty("io_bytes").GetInt64(), job.GetProperty("write").GetProperty("total_ios").GetInt64()));
        byte[] bytes = File.ReadAllBytes(data);
        Assert.All(bytes.Chunk(16384), block => Assert.True(block.AsSpan().IndexOfAnyExcept((byte)0) >= 0, "each block was written after its trim"));
    }
}
