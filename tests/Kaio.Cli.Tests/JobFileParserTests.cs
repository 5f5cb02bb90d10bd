using Kaio.Cli.Jobs;

namespace Kaio.Cli.Tests;

public class JobFileParserTests
{
    private static List<JobSpec> Parse(string text) => JobFileParser.Parse(text, "test.fio", new JobSpec());

    /// <summary>Every supported option, in fio's syntax, with comments the way fio files carry them.</summary>
    private const string EveryOption = """
        ; a job file exercising every option kaio supports
        [global]
        ioengine=libaio        # fio's name for Linux AIO
        direct=1
        bs=8k
        size=16MiB
        kb_base=1000           ; applied first in its section, so size above is 16 * 1024^2
        runtime=2m
        time_based
        iodepth=16
        numjobs=2
        thread
        group_reporting
        randseed=0x1234

        [seqwrite]
        description=sequential writes with durability
        rw=write
        blocksize=4k
        fsync=8
        fdatasync=4
        sync=1
        verify=crc64
        filename=/var/tmp/kaio-job-test.dat

        [mixed]
        stonewall
        readwrite=randrw
        rwmixread=70
        dsync
        verify=1
        seed=42
        name=renamed

        [verify-later]
        wait_for_previous=1
        rw=read
        verify_only
        buffered=1
        ioengine=psync
        rwmixwrite=20
        kb_base=1024
        bs=4KiB

        [extras]
        ramp_time=500ms
        loops=3
        io_size=1m
        io_limit=2m
        directory=/var/tmp
        randrepeat=0
        norandommap
        iodepth_batch=8
        iodepth_batch_complete=4
        iodepth_batch_complete_max=12
        """;

    [Fact]
    public void Parse_EveryOption_AppliesGlobalThenSection()
    {
        List<JobSpec> jobs = Parse(EveryOption);
        Assert.Equal(4, jobs.Count);

        JobSpec write = jobs[0];
        Assert.Equal("seqwrite", write.Name);
        Assert.Equal("sequential writes with durability", write.Description);
        Assert.Equal(AioEngineKind.LinuxAio, write.IoEngine.Kind);
        Assert.Equal("libaio", write.IoEngine.Name);
        Assert.True(write.Direct);
        Assert.Equal(4000, write.BlockSize); // kb_base=1000 from [global]
        Assert.Equal(16L * 1024 * 1024, write.Size);
        Assert.Equal(TimeSpan.FromMinutes(2), write.Runtime);
        Assert.True(write.TimeBased);
        Assert.Equal(16, write.IoDepth);
        Assert.Equal(2, write.NumJobs);
        Assert.True(write.GroupReporting);
        Assert.Equal(0x1234UL, write.Seed);
        Assert.Equal(ReadWriteMode.Write, write.ReadWrite);
        Assert.Equal(8, write.FsyncEvery);
        Assert.Equal(4, write.FdatasyncEvery);
        Assert.Equal(SyncMode.Sync, write.Sync);
        Assert.Equal(VerifyMode.Crc64, write.Verify);
        Assert.Equal("/var/tmp/kaio-job-test.dat", write.FileName);
        Assert.False(write.Stonewall);

        JobSpec mixed = jobs[1];
        Assert.Equal("renamed", mixed.Name);
        Assert.True(mixed.Stonewall);
        Assert.Equal(ReadWriteMode.RandReadWrite, mixed.ReadWrite);
        Assert.Equal(70, mixed.RwMixRead);
        Assert.Equal(SyncMode.Dsync, mixed.Sync);
        Assert.Equal(VerifyMode.XxHash64, mixed.Verify);
        Assert.Equal(42UL, mixed.Seed);
        Assert.Null(mixed.FileName);
        Assert.Equal(8000, mixed.BlockSize); // bs=8k from [global], read with its kb_base=1000

        JobSpec later = jobs[2];
        Assert.True(later.Stonewall);
        Assert.Equal(ReadWriteMode.Read, later.ReadWrite);
        Assert.True(later.VerifyOnly);
        Assert.False(later.Direct);
        Assert.Equal(AioEngineKind.ThreadPool, later.IoEngine.Kind);
        Assert.Equal(80, later.RwMixRead);
        Assert.Equal(1024, later.KbBase);
        Assert.Equal(4000, later.BlockSize); // KiB under kb_base=1024 is fio's "opposite unit"

        JobSpec extras = jobs[3];
        Assert.Equal(TimeSpan.FromMilliseconds(500), extras.RampTime);
        Assert.Equal(3, extras.Loops);
        Assert.Equal(2_000_000L, extras.IoSize); // io_limit is io_size's alias; kb_base=1000 from [global]
        Assert.Equal("/var/tmp", extras.Directory);
        Assert.False(extras.RandRepeat);
        Assert.Equal(8, extras.BatchSubmit);
        Assert.Equal(4, extras.BatchCompleteMin);
        Assert.Equal(12, extras.BatchCompleteMax);
    }

    [Fact]
    public void Parse_GlobalAfterAJob_AffectsOnlyLaterJobs()
    {
        List<JobSpec> jobs = Parse("""
            [a]
            rw=read
            [global]
            iodepth=8
            [b]
            rw=write
            """);
        Assert.Equal(1, jobs[0].IoDepth);
        Assert.Equal(8, jobs[1].IoDepth);
    }

    [Fact]
    public void Parse_JobOptions_RecordedForTheReport()
    {
        JobSpec job = Parse("[j]\nrw=randread\nbs=4k\n")[0];
        Assert.Equal([new("rw", "randread"), new("bs", "4k")], job.GivenOptions);
    }

    [Fact]
    public void Parse_EnvironmentVariables_AreSubstituted()
    {
        Environment.SetEnvironmentVariable("KAIO_TEST_BS", "16k");
        JobSpec job = Parse("[j]\nbs=${KAIO_TEST_BS}\n")[0];
        Assert.Equal(16384, job.BlockSize);
    }

    [Theory]
    [InlineData("[j]\nzonemode=zbd\n", "test.fio:2: zonemode=zbd: kaio does not drive zoned block devices")]
    [InlineData("[j]\nmax_latency=10ms\n", "test.fio:2: unsupported option 'max_latency' in [j]")]
    [InlineData("[j]\nbs=4x\n", "test.fio:2: bs=4x:")]
    [InlineData("[j]\nbs=4k,8k,1k,2k\n", "test.fio:2: bs=4k,8k,1k,2k: at most three comma-separated values")]
    [InlineData("[j]\nrw=trimwrite\nverify=1\n", "trims do not combine with verify")]
    [InlineData("[j]\nrw=bogus\n", "test.fio:2: rw=bogus: unsupported")]
    [InlineData("[j]\nioengine=spdk\n", "test.fio:2: ioengine=spdk: unsupported")]
    [InlineData("[j]\nverify=crc7\n", "test.fio:2: verify=crc7: unsupported")]
    [InlineData("[j]\ndirect=2\n", "test.fio:2: direct=2: expected 0 or 1")]
    [InlineData("[j]\niodepth\n", "test.fio:2: option 'iodepth' needs a value")]
    [InlineData("[j]\nruntime=10sec\n", "test.fio:2: runtime=10sec:")]
    [InlineData("[j]\nfilename=a::b\n", "an empty name between ':'")]
    [InlineData("[j]\nfilename=a\nnrfiles=2\n", "filename names one file")]
    [InlineData("[j]\nfile_service_type=zipf:1\n", "file_service_type=zipf:1: θ must be above 0 and not 1")]
    [InlineData("[j]\nfile_service_type=lru\n", "expected roundrobin, sequential, random, zipf, pareto or normal")]
    [InlineData("[j]\ncmdprio_bssplit=4k/60:4k/50\n", "add up to more than 100")]
    [InlineData("[j]\nzonemode=strided\n", "zonemode=strided needs zonesize")]
    [InlineData("[j]\nprio=3\nioengine=io_uring:await\n", "need kaio's Submit/GetEvents runner")]
    [InlineData("[j]\nprioclass=3\nioengine=randomaccess\n", "prio, prioclass and cmdprio_* need kaio's Submit/GetEvents runner; ioengine=randomaccess awaits each request")]
    [InlineData("[j]\ncmdprio_percentage=20\nioengine=libaio:await\n", "prio, prioclass and cmdprio_* need kaio's Submit/GetEvents runner")]
    [InlineData("[j]\nlatency_target=1ms\nioengine=io_uring:await\n", "latency_target need kaio's Submit/GetEvents runner; ioengine=io_uring:await")]
    [InlineData("[j]\nlatency_target=1ms\nioengine=randomaccess\n", "latency_target need kaio's Submit/GetEvents runner; ioengine=randomaccess")]
    [InlineData("[j]\nnrfiles=2\nzonemode=strided\nzonesize=64k\n", "do not combine with zonemode, random_generator=lfsr or offset_increment")]
    [InlineData("[j]\nnrfiles=2\nrw=randread\nrandom_generator=lfsr\n", "do not combine with zonemode, random_generator=lfsr or offset_increment")]
    [InlineData("[j]\nfilename=a:b\nnumjobs=2\noffset_increment=1m\n", "do not combine with zonemode, random_generator=lfsr or offset_increment")]
    [InlineData("[j]\nnrfiles=4\nopenfiles=2\n", "openfiles=2 is below the job's 4 files")]
    [InlineData("[j]\nloops=2\nunlink_each_loop=1\n", "unlink_each_loop with loops > 1")]
    [InlineData("[j]\nnrfiles=2\nfile_append=1\n", "file_append with several files per job")]
    [InlineData("[j]\nfilesize=1m,4m\n", "filesize=1m,4m: give one size or a range LOW-HIGH")]
    [InlineData("[j]\nbs=8k\nfilesize=4k-1m\n", "filesize=4KiB is smaller than bs=8KiB")]
    [InlineData("[j]\nrw=trim\nioengine=randomaccess\n", "rw=trim, randtrim, trimwrite and randtrimwrite need a Kaio engine")]
    [InlineData("[j]\nrwmixread=101\n", "rwmixread=101: must be between 0 and 100")]
    [InlineData("rw=read\n", "test.fio:1: option 'rw=read' outside a section")]
    [InlineData("[global]\nrw=read\n", "no jobs")]
    [InlineData("[j\nrw=read\n", "malformed section header")]
    [InlineData("include other.fio\n[j]\n", "'include' is not supported")]
    [InlineData("[j]\ntime_based\n", "time_based needs runtime")]
    [InlineData("[j]\nbs=64k\nsize=4k\n", "size=4KiB is smaller than bs=64KiB")]
    [InlineData("[j]\nbs=32\nverify=1\n", "verify needs bs of at least 64")]
    [InlineData("[j]\nioengine=null\nverify=1\n", "verify needs an engine that does I/O")]
    [InlineData("[j]\nnorandommap=0\n", "norandommap=0: kaio has no random map")]
    [InlineData("[j]\niodepth=4\niodepth_batch=8\n", "must not exceed iodepth")]
    [InlineData("[j]\niodepth=8\niodepth_batch_complete_min=6\niodepth_batch_complete_max=4\n", "iodepth_batch_complete_min must not exceed iodepth_batch_complete_max")]
    [InlineData("[j]\nloops=0\n", "loops=0: must be between 1")]
    public void Parse_BadInput_NamesTheFileLineAndProblem(string text, string expected)
    {
        var e = Assert.Throws<JobOptionException>(() => Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>Issue 13: one unsupported option per run, so a file with five took five runs; fio lists them all.</summary>
    [Fact]
    public void Parse_SeveralUnsupportedOptions_AllListedInOneError()
    {
        var e = Assert.Throws<JobOptionException>(() => Parse("""
            [global]
            numa_cpu_nodes=0
            bs=4k
            [a]
            max_latency=5ms
            iodepth=bad
            [b]
            cpus_allowed=1
            """));
        Assert.Equal("test.fio:2: unsupported option 'numa_cpu_nodes' in [global]; test.fio:5: unsupported option 'max_latency' in [a]; test.fio:8: unsupported option 'cpus_allowed' in [b]", e.Message);
    }

    [Theory]
    [InlineData("randread.fio", 1)]
    [InlineData("write-verify.fio", 3)]
    [InlineData("mixed-durable.fio", 1)]
    public void ParseFile_ShippedExamples_Parse(string name, int jobs)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "examples", name);
        Assert.Equal(jobs, JobFileParser.ParseFile(path, new JobSpec()).Count);
    }

    [Fact]
    public void ParseFile_Missing_NamesTheFile()
    {
        var e = Assert.Throws<JobOptionException>(() => JobFileParser.ParseFile("/nonexistent/kaio.fio", new JobSpec()));
        Assert.Equal("job file '/nonexistent/kaio.fio' not found", e.Message);
    }

    [Fact]
    public void JobOptions_EveryOptionHasHelpAndIsReachableByItsNames()
    {
        foreach (JobOption option in JobOptions.All)
        {
            Assert.False(string.IsNullOrWhiteSpace(option.Help), option.Name);
            Assert.True(JobOptions.TryFind(option.Name, out _));
            foreach (string alias in option.Aliases)
            {
                Assert.True(JobOptions.TryFind(alias, out JobOption found));
                Assert.Same(option, found);
            }
        }
    }

    [Theory]
    [InlineData("auto", AioEngineKind.Auto)]
    [InlineData("io_uring", AioEngineKind.IoUring)]
    [InlineData("libaio", AioEngineKind.LinuxAio)]
    [InlineData("linuxaio", AioEngineKind.LinuxAio)]
    [InlineData("threadpool", AioEngineKind.ThreadPool)]
    [InlineData("psync", AioEngineKind.ThreadPool)]
    [InlineData("sync", AioEngineKind.ThreadPool)]
    [InlineData("pvsync", AioEngineKind.ThreadPool)]
    [InlineData("pvsync2", AioEngineKind.ThreadPool)]
    [InlineData("null", AioEngineKind.Null)]
    public void IoEngine_FioNames_MapToKaioEngines(string name, AioEngineKind kind)
    {
        Assert.True(IoEngineChoice.TryParse(name, out IoEngineChoice choice));
        Assert.Equal(kind, choice.Kind);
    }

    [Theory]
    [InlineData("dotnet")]
    [InlineData("randomaccess")]
    public void IoEngine_DotnetNames_AreTheBaseline(string name)
    {
        Assert.True(IoEngineChoice.TryParse(name, out IoEngineChoice choice));
        Assert.True(choice.IsBaseline);
    }
}
