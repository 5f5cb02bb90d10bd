using Kaio.Cli.Jobs;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

public class CommandLineTests
{
    [Fact]
    public void ParseBench_NoOptions_IsTheQuickDefault()
    {
        JobSpec job = Assert.Single(KaioApp.ParseBench([]));
        Assert.Equal(ReadWriteMode.RandRead, job.ReadWrite);
        Assert.Equal(4096, job.BlockSize);
        Assert.Equal(32, job.IoDepth);
        Assert.Equal(64L * 1024 * 1024, job.Size);
        Assert.Equal(TimeSpan.FromSeconds(3), job.Runtime);
        Assert.True(job.TimeBased);
        Assert.Equal(AioEngineKind.Auto, job.IoEngine.Kind);
        Assert.Null(job.FileName);
    }

    [Theory]
    [InlineData("io_uring", AioEngineKind.IoUring, false)]
    [InlineData("io_uring:await", AioEngineKind.IoUring, true)]
    [InlineData("LIBAIO:await", AioEngineKind.LinuxAio, true)]
    [InlineData("psync:await", AioEngineKind.ThreadPool, true)]
    [InlineData("auto:await", AioEngineKind.Auto, true)]
    [InlineData("null:await", AioEngineKind.Null, true)]
    public void ParseBench_IoEngine_AwaitSuffixSelectsTheAwaitableFace(string name, AioEngineKind kind, bool awaited)
    {
        JobSpec job = Assert.Single(KaioApp.ParseBench(["--ioengine=" + name]));
        Assert.Equal(kind, job.IoEngine.Kind);
        Assert.Equal(awaited, job.IoEngine.Awaited);
        Assert.False(job.IoEngine.IsBaseline);
    }

    [Fact]
    public void ParseBench_PlacementOnly_StillTheQuickDefault()
    {
        JobSpec job = Assert.Single(KaioApp.ParseBench(["--ioengine=threadpool", "--direct=1", "--directory=/var/tmp"]));
        Assert.Equal(32, job.IoDepth);
        Assert.True(job.TimeBased);
        Assert.Equal(64L * 1024 * 1024, job.Size);
    }

    /// <summary>Issue 13: a job naming its workload ran iodepth 32 and time_based, the bare run's defaults; fio reads 16 MiB once at iodepth 1.</summary>
    [Fact]
    public void ParseBench_JobNamingItsWorkload_GetsFioDefaults()
    {
        JobSpec job = Assert.Single(KaioApp.ParseBench(["--name=j", "--rw=read", "--size=16m", "--runtime=2"]));
        Assert.Equal(1, job.IoDepth);
        Assert.False(job.TimeBased);
        Assert.Equal(4096, job.BlockSize);
        Assert.Equal(16L * 1024 * 1024, job.Size);
        Assert.Equal(TimeSpan.FromSeconds(2), job.Runtime);
        Assert.DoesNotContain(job.GivenOptions, o => o.Key is "iodepth" or "time_based");
    }

    /// <summary>Issue 13: an existing empty file named without size got 64 MiB written into it; fio refuses.</summary>
    [Fact]
    public void Run_EmptyFileWithoutSize_RefusedAndLeftEmpty()
    {
        using var dir = new TempDirectory();
        string empty = dir.File("empty");
        File.WriteAllBytes(empty, []);
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + empty);
        Assert.Equal(KaioApp.ExitUsage, result.Exit);
        Assert.Equal($"kaio: command line: {empty}: size= not given and the file is empty", result.Err.Trim());
        Assert.Equal(0, new FileInfo(empty).Length);
    }

    [Fact]
    public void ParseBench_EveryOption_FioSyntax()
    {
        JobSpec job = Assert.Single(KaioApp.ParseBench([
            "--name=cli", "--rw=randrw", "--bs=16k", "--iodepth=8", "--size=1g", "--runtime=500ms", "--time_based=1",
            "--direct=1", "--ioengine=io_uring", "--numjobs=4", "--rwmixread=30", "--filename=/var/tmp/x.dat",
            "--fsync=32", "--fdatasync=16", "--dsync", "--verify=xxhash", "--seed=7", "--group_reporting",
            "--kb_base=1024", "--description=d", "--thread",
        ]));
        Assert.Equal("cli", job.Name);
        Assert.Equal(ReadWriteMode.RandReadWrite, job.ReadWrite);
        Assert.Equal(16384, job.BlockSize);
        Assert.Equal(8, job.IoDepth);
        Assert.Equal(1L << 30, job.Size);
        Assert.Equal(TimeSpan.FromMilliseconds(500), job.Runtime);
        Assert.True(job.TimeBased);
        Assert.True(job.Direct);
        Assert.Equal(AioEngineKind.IoUring, job.IoEngine.Kind);
        Assert.Equal(4, job.NumJobs);
        Assert.Equal(30, job.RwMixRead);
        Assert.Equal("/var/tmp/x.dat", job.FileName);
        Assert.Equal(32, job.FsyncEvery);
        Assert.Equal(16, job.FdatasyncEvery);
        Assert.Equal(SyncMode.Dsync, job.Sync);
        Assert.Equal(VerifyMode.XxHash64, job.Verify);
        Assert.Equal(7UL, job.Seed);
        Assert.True(job.GroupReporting);
        Assert.Equal("d", job.Description);
    }

    [Fact]
    public void ParseBench_SpaceSeparatedValuesAndAliases()
    {
        JobSpec job = Assert.Single(KaioApp.ParseBench(["--readwrite", "write", "--blocksize", "8k", "--sync", "--direct=0", "--time_based=0", "--size", "1m"]));
        Assert.Equal(ReadWriteMode.Write, job.ReadWrite);
        Assert.Equal(8192, job.BlockSize);
        Assert.Equal(SyncMode.Sync, job.Sync);
        Assert.False(job.Direct);
        Assert.False(job.TimeBased);
    }

    [Fact]
    public void ParseBench_JobFile_CommandLineOptionsAreItsDefaults()
    {
        using var dir = new TempDirectory();
        string file = dir.WriteJobFile("two.fio", """
            [first]
            rw=read
            [second]
            stonewall
            iodepth=4
            """);
        List<JobSpec> jobs = KaioApp.ParseBench(["--iodepth=64", "--bs=8k", "--size=1m", file]);
        Assert.Equal(2, jobs.Count);
        Assert.Equal(64, jobs[0].IoDepth);
        Assert.Equal(4, jobs[1].IoDepth); // the file wins, as in fio
        Assert.All(jobs, j => Assert.Equal(8192, j.BlockSize));
        Assert.True(jobs[1].Stonewall);
    }

    [Theory]
    [InlineData(new[] { "bench", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "bench", "--bogus", "--cpus_allowed=1", "--bs=4k" }, "unknown options '--bogus', '--cpus_allowed=1' (see kaio bench --help)")]
    [InlineData(new[] { "bench", "--bs=4x" }, "bs=4x:")]
    [InlineData(new[] { "bench", "--size=lots" }, "size=lots:")]
    [InlineData(new[] { "bench", "--runtime=10sec" }, "runtime=10sec:")]
    [InlineData(new[] { "bench", "--direct=2" }, "--direct=2: expected 0 or 1")]
    [InlineData(new[] { "bench", "--ioengine=spdk" }, "ioengine=spdk: unsupported")]
    [InlineData(new[] { "bench", "--ioengine=spdk:await" }, "ioengine=spdk:await: unsupported")]
    [InlineData(new[] { "bench", "--ioengine=randomaccess:await" }, "ioengine=randomaccess:await: unsupported")]
    [InlineData(new[] { "bench", "--rw=sideways" }, "rw=sideways: unsupported")]
    [InlineData(new[] { "bench", "/nonexistent/job.fio" }, "job file '/nonexistent/job.fio' not found")]
    [InlineData(new[] { "bench", "--output-format=xml" }, "--output-format=xml: expected normal, json or json+")]
    [InlineData(new[] { "frobnicate" }, "frobnicate")]
    public void Run_BadInput_OneLineErrorAndNonZeroExit(string[] args, string expected)
    {
        KaioCli.Result result = KaioCli.Run(args);
        Assert.True(result.Exit != 0, result.ToString());
        Assert.Contains(expected, result.Err, StringComparison.Ordinal);
        Assert.Single(result.Err.TrimEnd().Split('\n'));
        Assert.DoesNotContain("   at ", result.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--bs=4x")]
    [InlineData("/nonexistent/job.fio")]
    public void Run_BadInputInJsonMode_StillValidJsonWithTheError(string bad)
    {
        KaioCli.Result result = KaioCli.Run("bench", "--output-format=json", bad);
        Assert.Equal(KaioApp.ExitUsage, result.Exit);
        using var doc = System.Text.Json.JsonDocument.Parse(result.Out);
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("error").GetString()));
        Assert.Equal(0, doc.RootElement.GetProperty("jobs").GetArrayLength());
    }

    [Fact]
    public void Run_Help_ListsFioOptions()
    {
        KaioCli.Result result = KaioCli.Run("bench", "--help");
        Assert.Equal(0, result.Exit);
        foreach (string option in new[] { "--rw", "--bs", "--iodepth", "--size", "--runtime", "--time_based", "--direct", "--ioengine", "--numjobs", "--rwmixread", "--filename", "--fsync", "--fdatasync", "--sync", "--dsync", "--verify", "--output-format", "--seed", "--compare" })
        {
            Assert.Contains(option, result.Out, StringComparison.Ordinal);
        }
    }
}
