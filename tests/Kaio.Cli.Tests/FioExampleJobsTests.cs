using System.Text.Json;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

/// <summary>
/// Job files of our own written with the options of fio's example files that kaio runs
/// (bench/fio-examples.sh runs fio's own files; they are GPL and not checked in here), run
/// end to end on small real files: each must run and do what its options say.
/// </summary>
public class FioExampleJobsTests
{
    private static JsonElement RunJson(TempDirectory dir, string jobFile, params string[] extra)
    {
        string path = dir.WriteJobFile("job.fio", jobFile.Replace("DIR", dir.Path, StringComparison.Ordinal));
        KaioCli.Result result = KaioCli.Run(["bench", path, "--output-format=json", .. extra]);
        Assert.True(result.Exit == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        return doc.RootElement.Clone();
    }

    private static JsonElement Job(JsonElement root, string name)
        => root.GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("jobname").GetString() == name);

    /// <summary>iometer-file-access-server.fio: bssplit with sub-4k sizes, randrw, O_DIRECT, libaio.</summary>
    [Fact]
    public void Bssplit_IometerLike_MovesExactlyTheSizeInMixedRequests()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [global]
            description=an IOmeter-like mix of request sizes
            [iometer]
            bssplit=512/10:1k/5:2k/5:4k/60:8k/2:16k/4:32k/4:64k/10
            rw=randrw
            rwmixread=80
            direct=1
            size=2m
            ioengine=libaio
            iodepth=8
            filename=DIR/data
            """);
        JsonElement job = Job(root, "iometer");
        long readBytes = job.GetProperty("read").GetProperty("io_bytes").GetInt64();
        long writeBytes = job.GetProperty("write").GetProperty("io_bytes").GetInt64();
        long ios = job.GetProperty("read").GetProperty("total_ios").GetInt64() + job.GetProperty("write").GetProperty("total_ios").GetInt64();
        Assert.InRange(readBytes + writeBytes, 2L << 20, (2L << 20) + 65536);
        // Mean request about 0.1*0.5k + ... + 0.1*64k ≈ 11.7 KiB: far more requests than 2m/64k, far fewer than 2m/512.
        Assert.InRange(ios, 100, 600);
    }

    /// <summary>tiobench-example.fio: bsrange, timeout (runtime's alias), numjobs, stonewalled groups.</summary>
    [Fact]
    public void Bsrange_AndTimeout_TiobenchLike_RunEveryGroup()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [global]
            direct=1
            size=512k
            bsrange=4k-4k
            timeout=60
            numjobs=2
            directory=DIR
            [f1]
            rw=write
            [f2]
            stonewall
            rw=randwrite
            [f3]
            stonewall
            rw=read
            """);
        foreach (string name in (string[])["f1", "f2", "f3"])
        {
            JsonElement job = Job(root, name);
            string direction = name == "f3" ? "read" : "write";
            Assert.Equal(2 * 512 * 1024, job.GetProperty(direction).GetProperty("io_bytes").GetInt64());
        }
    }

    /// <summary>zipf.fio and null.fio: the null engine, norandommap, random_distribution=zipf, gtod_reduce.</summary>
    [Fact]
    public void ZipfOnTheNullEngine_WithGtodReduce_Runs()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [global]
            bs=4k
            gtod_reduce=1
            [job]
            ioengine=null
            rw=randread
            norandommap
            size=64m
            io_size=4m
            random_distribution=zipf:0.5
            directory=DIR
            """);
        Assert.Equal(1024, Job(root, "job").GetProperty("read").GetProperty("total_ios").GetInt64());
    }

    /// <summary>rand-zones.fio and jesd219.fio: zoned distribution, bssplit with blockalign, O_DIRECT.</summary>
    [Fact]
    public void ZonedWithBssplitAndBlockalign_JesdLike_Runs()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [JESD219]
            ioengine=libaio
            direct=1
            rw=randrw
            norandommap
            randrepeat=0
            rwmixread=40
            rwmixwrite=60
            iodepth=16
            numjobs=2
            bssplit=512/4:1024/1:1536/1:2048/1:2560/1:3072/1:3584/1:4k/67:8k/10:16k/7:32k/3:64k/3
            blockalign=4k
            random_distribution=zoned:50/5:30/15:20/80
            filename=DIR/dev
            size=4m
            io_size=1m
            group_reporting
            """);
        JsonElement job = root.GetProperty("jobs")[0];
        long bytes = job.GetProperty("read").GetProperty("io_bytes").GetInt64() + job.GetProperty("write").GetProperty("io_bytes").GetInt64();
        Assert.InRange(bytes, 2L << 20, (2L << 20) + (2 * 65536));
    }

    /// <summary>backwards-read.fio: rw=read with a negative skip reads the file backwards.</summary>
    [Fact]
    public void BackwardsRead_Runs()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [backwards-read]
            bs=4k
            rw=read:-8k
            filename=DIR/128m
            size=1m
            """);
        Assert.Equal(256, Job(root, "backwards-read").GetProperty("read").GetProperty("total_ios").GetInt64());
    }

    /// <summary>basic-verify.fio: random writes verified with crc32c on a "device" (an existing file, no size), libaio, O_DIRECT.</summary>
    [Fact]
    public void BasicVerify_Crc32c_WritesAndReadsBackEveryBlock()
    {
        using var dir = new TempDirectory();
        using (FileStream device = File.Create(dir.File("dev")))
        {
            device.SetLength(1 << 20);
        }

        JsonElement root = RunJson(dir, """
            [write-and-verify]
            rw=randwrite
            bs=4k
            direct=1
            ioengine=libaio
            iodepth=16
            verify=crc32c
            filename=DIR/dev
            """);
        JsonElement job = Job(root, "write-and-verify");
        Assert.Equal(256, job.GetProperty("write").GetProperty("total_ios").GetInt64());
        // Every block written carries a crc32c header (kind 3) for its own offset.
        byte[] data = File.ReadAllBytes(dir.File("dev"));
        int written = 0;
        for (int offset = 0; offset < data.Length; offset += 4096)
        {
            if (BitConverter.ToUInt32(data, offset) == 0x4F49414B)
            {
                written++;
                Assert.Equal(3u, BitConverter.ToUInt32(data, offset + 20));
                Assert.Equal(offset, BitConverter.ToInt64(data, offset + 8));
            }
        }

        Assert.InRange(written, 100, 256); // random offsets: some blocks twice, some never
    }

    /// <summary>do_verify=0 writes checked blocks without the read-back; a later job verifies them (surface-scan.fio's shape).</summary>
    [Fact]
    public void DoVerifyZero_ThenAReadJobWithVerify_ChecksTheFile()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [global]
            bs=64k
            direct=1
            ioengine=sync
            verify=md5
            filename=DIR/datafile.tmp
            [write-phase]
            rw=write
            size=1m
            do_verify=0
            [verify-phase]
            stonewall
            create_serialize=0
            rw=read
            do_verify=1
            """);
        Assert.Equal(16, Job(root, "write-phase").GetProperty("write").GetProperty("total_ios").GetInt64());
        Assert.Equal(16, Job(root, "verify-phase").GetProperty("read").GetProperty("total_ios").GetInt64());
    }

    [Theory]
    [InlineData("do_verify=0", false)]
    [InlineData("do_verify=1", true)]
    [InlineData("", true)]
    public void DoVerify_DecidesTheReadBackPass(string option, bool readBack)
    {
        var job = new Kaio.Cli.Jobs.JobSpec();
        Kaio.Cli.Jobs.JobOptions.Apply(job, "rw", "write");
        Kaio.Cli.Jobs.JobOptions.Apply(job, "verify", "sha256");
        if (option.Length > 0)
        {
            Kaio.Cli.Jobs.JobOptions.Apply(job, "do_verify", option[(option.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        }

        using var gate = new Kaio.Cli.Workloads.StartGate(1);
        var runner = new Kaio.Cli.Workloads.BenchRunner("/var/tmp", null, null, CancellationToken.None);
        var threads = runner.CreateThreads(job, "/var/tmp/unused", 1 << 20, new long[256], gate);
        Assert.Equal(readBack, threads[0].VerifyPass);
    }

    /// <summary>waitfor.fio: filesize, new_group, wait_for; each reporting group merged with group_reporting.</summary>
    [Fact]
    public void WaitFor_StartsAfterTheNamedJob_NewGroupReportsSeparately()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [global]
            threads=1
            group_reporting
            filename=DIR/data
            filesize=1m
            [writers]
            rw=write
            bs=128k
            numjobs=2
            [readers]
            new_group
            wait_for=writers
            rw=randread
            bs=4k
            numjobs=2
            """);
        Assert.Equal(1L << 20, new FileInfo(dir.File("data")).Length);
        JsonElement writers = Job(root, "writers");
        JsonElement readers = Job(root, "readers");
        Assert.Equal(2L << 20, writers.GetProperty("write").GetProperty("io_bytes").GetInt64()); // filesize is each thread's size
        Assert.Equal(2L << 20, readers.GetProperty("read").GetProperty("io_bytes").GetInt64());
        Assert.NotEqual(writers.GetProperty("groupid").GetInt32(), readers.GetProperty("groupid").GetInt32());
        long writersEnd = writers.GetProperty("job_start").GetInt64() + writers.GetProperty("write").GetProperty("runtime").GetInt64();
        Assert.True(readers.GetProperty("job_start").GetInt64() >= writersEnd - 1, root.ToString());
    }

    [Fact]
    public void Filesize_WithSize_SizeIsTheBytesToMove()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [j]
            rw=read
            filename=DIR/data
            filesize=256k
            size=1m
            """);
        Assert.Equal(256L << 10, new FileInfo(dir.File("data")).Length);
        Assert.Equal(1L << 20, Job(root, "j").GetProperty("read").GetProperty("io_bytes").GetInt64());
    }

    [Fact]
    public void WaitFor_ANameNotEarlierInTheFile_IsRefused()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteJobFile("job.fio", "[a]\nwait_for=b\nsize=64k\n[b]\nsize=64k\n");
        KaioCli.Result result = KaioCli.Run("bench", path);
        Assert.Equal(2, result.Exit);
        Assert.Contains("wait_for=b: no job of that name before this one", result.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rate_iops=100")]
    [InlineData("rate=400k")]
    [InlineData("rate_iops=100\nrate_process=poisson")]
    [InlineData("thinktime=10ms")]
    [InlineData("thinktime=10000")]
    public void Pacing_HoldsAOneSecondJobNearAHundredRequests(string pacing)
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, $"""
            [paced]
            ioengine=null
            rw=randread
            bs=4k
            size=1m
            runtime=1
            time_based
            directory=DIR
            {pacing.Replace("\\n", "\n", StringComparison.Ordinal)}
            """);
        long ios = Job(root, "paced").GetProperty("read").GetProperty("total_ios").GetInt64();
        // The cap holds (the upper bound); the lower bounds leave room for a machine loaded by the
        // parallel tests (a starved thread catches up only by what is due). Poisson varies by chance;
        // thinktime only adds gaps.
        (int low, int high) = pacing.Contains("poisson", StringComparison.Ordinal) ? (45, 140) : pacing.Contains("thinktime", StringComparison.Ordinal) ? (30, 101) : (50, 102);
        Assert.InRange(ios, low, high);
    }

    [Fact]
    public void Rate_PerDirection_PacesReadsAndWritesApart()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [mixed]
            ioengine=null
            rw=randrw
            bs=4k
            size=1m
            runtime=1
            time_based
            rate_iops=200,20
            directory=DIR
            """);
        JsonElement job = Job(root, "mixed");
        long reads = job.GetProperty("read").GetProperty("total_ios").GetInt64();
        long writes = job.GetProperty("write").GetProperty("total_ios").GetInt64();
        // The writes' cap holds; while writes wait, reads go (fio's rate_ddir()).
        Assert.InRange(writes, 8, 22);
        Assert.InRange(reads, 100, 205);
    }

    [Fact]
    public void Ratemin_NotMet_FailsTheJobNamingTheRate()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteJobFile("job.fio", $"[slow]\nioengine=null\nrw=read\nbs=4k\nsize=1m\nruntime=3\ntime_based\nrate_iops=10\nratemin=1m\ndirectory={dir.Path}\n");
        KaioCli.Result result = KaioCli.Run("bench", path);
        Assert.Equal(1, result.Exit);
        Assert.Contains("below ratemin=1048576", result.Err + result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void NumberIos_StopsEachThreadAfterThatMany()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [j]
            rw=randread
            size=1m
            numjobs=2
            number_ios=10
            directory=DIR
            """);
        Assert.Equal(20, Job(root, "j").GetProperty("read").GetProperty("total_ios").GetInt64());
    }

    [Fact]
    public void Startdelay_StartsTheJobThatLongAfterItsGroup()
    {
        using var dir = new TempDirectory();
        var wall = System.Diagnostics.Stopwatch.StartNew();
        JsonElement root = RunJson(dir, """
            [global]
            ioengine=null
            rw=read
            size=64k
            directory=DIR
            [now]
            [later]
            startdelay=800ms
            """);
        Assert.True(wall.Elapsed >= TimeSpan.FromMilliseconds(800), wall.Elapsed.ToString());
        Assert.Equal(16, Job(root, "later").GetProperty("read").GetProperty("total_ios").GetInt64());
    }

    /// <summary>exitwhat.fio: an exitall job ends its group (a 30 s job stops); exit_what=all skips later groups too.</summary>
    [Fact]
    public void Exitall_StopsTheGroup_ExitWhatAllSkipsLaterGroups()
    {
        using var dir = new TempDirectory();
        var wall = System.Diagnostics.Stopwatch.StartNew();
        JsonElement root = RunJson(dir, """
            [global]
            ioengine=null
            size=1m
            directory=DIR
            [slow1]
            rw=read
            exitall=1
            thinktime=2000
            number_ios=50
            exit_what=all
            [fast1]
            rw=randrw
            runtime=30
            time_based
            [runsnever]
            stonewall
            rw=read
            """);
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(15), wall.Elapsed.ToString());
        Assert.Equal(50, Job(root, "slow1").GetProperty("read").GetProperty("total_ios").GetInt64());
        Assert.True(Job(root, "fast1").GetProperty("read").GetProperty("total_ios").GetInt64() > 0);
        Assert.True(Job(root, "runsnever").GetProperty("not_run").GetBoolean());
    }

    /// <summary>flow.fio: two jobs with flow=1 and flow=8 share flow_id 0: about one write to eight reads.</summary>
    [Fact]
    public void Flow_KeepsJobsInTheRatioOfTheirWeights()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [global]
            norandommap
            thread
            time_based
            runtime=1
            ioengine=null
            iodepth=4
            size=16m
            bs=8k
            directory=DIR
            flow_sleep=1000
            [job2]
            numjobs=1
            rw=write
            flow=1
            [job1]
            numjobs=1
            rw=randread
            flow=8
            """);
        double writes = Job(root, "job2").GetProperty("write").GetProperty("total_ios").GetInt64();
        double reads = Job(root, "job1").GetProperty("read").GetProperty("total_ios").GetInt64();
        Assert.True(writes > 100, root.ToString());
        Assert.InRange(reads / writes, 7.0, 9.0);
    }

    /// <summary>surface-scan.fio: verify=meta with verify_pattern and verify_interval=512, written with do_verify=0, checked by a later read job.</summary>
    [Fact]
    public void SurfaceScan_MetaPatternInterval_WritesThenVerifies()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [global]
            thread
            bs=64k
            direct=1
            ioengine=sync
            verify=meta
            verify_pattern=0xaa555aa5
            verify_interval=512
            [write-phase]
            filename=DIR/datafile.tmp
            rw=write
            size=1m
            do_verify=0
            [verify-phase]
            stonewall
            create_serialize=0
            filename=DIR/datafile.tmp
            rw=read
            do_verify=1
            """);
        Assert.Equal(16, Job(root, "verify-phase").GetProperty("read").GetProperty("total_ios").GetInt64());
        byte[] data = File.ReadAllBytes(dir.File("datafile.tmp"));
        Assert.Equal(1 << 20, data.Length);
        Assert.Equal(777L * 512, BitConverter.ToInt64(data, (777 * 512) + 8)); // every 512 bytes a header for its own offset
        Assert.Equal("AA555AA5", Convert.ToHexString(data, (777 * 512) + 64, 4));

        // A flipped byte is found by a verify-only pass over the file.
        data[(300 * 512) + 100] ^= 0x40;
        File.WriteAllBytes(dir.File("datafile.tmp"), data);
        string path = dir.WriteJobFile("check.fio", $"[check]\nfilename={dir.File("datafile.tmp")}\nrw=read\nbs=64k\nverify=meta\nverify_pattern=0xaa555aa5\nverify_interval=512\nverify_only\n");
        KaioCli.Result result = KaioCli.Run("bench", path);
        Assert.Equal(1, result.Exit);
        Assert.Contains("corrupted block at offset " + (300 * 512).ToString(System.Globalization.CultureInfo.InvariantCulture), result.Err + result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void BufferPattern_FillsWhatIsWritten()
    {
        using var dir = new TempDirectory();
        RunJson(dir, """
            [j]
            rw=write
            bs=4k
            size=64k
            buffer_pattern=0xdeadbeef
            filename=DIR/data
            """);
        byte[] data = File.ReadAllBytes(dir.File("data"));
        for (int at = 0; at < data.Length; at += 4)
        {
            Assert.Equal("DEADBEEF", Convert.ToHexString(data, at, 4));
        }
    }

    /// <summary>cross-stripe-verify.fio's offset and offset_increment: each thread's region starts further in.</summary>
    [Fact]
    public void OffsetAndOffsetIncrement_PlaceEachThreadsRegion()
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, """
            [j]
            rw=write
            bs=4k
            offset=64k
            offset_increment=128k
            size=64k
            numjobs=2
            buffer_pattern=0x11
            filename=DIR/data
            """);
        Assert.Equal(2 * 65536, Job(root, "j").GetProperty("write").GetProperty("io_bytes").GetInt64());
        byte[] data = File.ReadAllBytes(dir.File("data"));
        Assert.Equal(256 * 1024, data.Length); // 64k + 128k + 64k
        bool Written(int from, int to) => data.AsSpan(from, to - from).IndexOfAnyExcept((byte)0x11) < 0;
        Assert.False(Written(0, 65536)); // laid out, not the job's
        Assert.True(Written(65536, 131072)); // thread 0
        Assert.False(Written(131072, 196608));
        Assert.True(Written(196608, 262144)); // thread 1
    }

    /// <summary>steadystate.fio: ss, ss_dur, ss_ramp on a character device (/dev/zero): a steady job stops long before its runtime.</summary>
    [Fact]
    public void SteadyState_StopsASteadyJobEarly()
    {
        using var dir = new TempDirectory();
        var wall = System.Diagnostics.Stopwatch.StartNew();
        JsonElement root = RunJson(dir, """
            [global]
            threads=1
            group_reporting
            time_based
            size=1m
            [ss-read]
            new_group
            stonewall
            filename=/dev/zero
            rw=randread
            bs=4k
            numjobs=2
            runtime=30
            rate_iops=500
            ss=iops:20%
            ss_dur=2
            ss_ramp=1
            """);
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(12), wall.Elapsed.ToString());
        Assert.True(root.GetProperty("jobs")[0].GetProperty("read").GetProperty("total_ios").GetInt64() > 1000);
    }

    /// <summary>fixed-rate-submission.fio and poisson-rate-submission.fio: io_submit_mode=offload with rate_iops (and rate_process=poisson).</summary>
    [Theory]
    [InlineData("linear")]
    [InlineData("poisson")]
    public void RateSubmission_HoldsTheRate(string process)
    {
        using var dir = new TempDirectory();
        JsonElement root = RunJson(dir, $"""
            [rate-submit]
            size=4m
            rw=read
            ioengine=libaio
            iodepth=32
            direct=1
            io_submit_mode=offload
            rate_iops=500
            rate_process={process}
            runtime=1
            time_based
            filename=DIR/data
            """);
        long ios = Job(root, "rate-submit").GetProperty("read").GetProperty("total_ios").GetInt64();
        Assert.InRange(ios, 250, process == "poisson" ? 600 : 505);
    }

    /// <summary>fio's percent sizes (butterfly.fio's size=50%): a share of the existing file.</summary>
    [Fact]
    public void SizePercent_IsAShareOfTheExistingFile()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("data"), new byte[1 << 20]);
        JsonElement root = RunJson(dir, """
            [forward]
            rw=read
            size=50%
            filename=DIR/data
            """);
        Assert.Equal(512L << 10, Job(root, "forward").GetProperty("read").GetProperty("io_bytes").GetInt64());
        Assert.Equal(1L << 20, new FileInfo(dir.File("data")).Length);
    }

    [Fact]
    public void Unlink_RemovesTheJobsFileWhenItIsDone_OthersStay()
    {
        using var dir = new TempDirectory();
        RunJson(dir, """
            [global]
            rw=write
            size=64k
            [gone]
            filename=DIR/gone
            unlink=1
            [kept]
            filename=DIR/kept
            """);
        Assert.False(File.Exists(dir.File("gone")));
        Assert.Equal(65536, new FileInfo(dir.File("kept")).Length);
    }
}
