using System.Diagnostics;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

/// <summary>Tiny real jobs on temporary files, through every engine that works here.</summary>
public class EndToEndTests
{
    public static TheoryData<string> Engines => ["io_uring", "libaio", "threadpool", "null", "randomaccess", "io_uring:await", "libaio:await", "threadpool:await", "null:await"];

    public static TheoryData<string> IoEngines => ["io_uring", "libaio", "threadpool", "randomaccess", "io_uring:await", "libaio:await", "threadpool:await"];

    private static void SkipUnlessAvailable(string engine)
    {
        AioEngineKind? kind = engine.Replace(":await", "", StringComparison.Ordinal) switch
        {
            "io_uring" => AioEngineKind.IoUring,
            "libaio" => AioEngineKind.LinuxAio,
            "threadpool" => AioEngineKind.ThreadPool,
            "null" => AioEngineKind.Null,
            _ => null,
        };
        if (kind is null)
        {
            return;
        }

        AioEngineStatus status = AioContext.ProbeEngines().Single(s => s.Kind == kind);
        if (!status.Available)
        {
            Assert.Skip($"{engine} does not work here: {status.Reason}");
        }
    }

    private static JsonElement Json(KaioCli.Result result)
    {
        using var doc = JsonDocument.Parse(result.Out);
        return doc.RootElement.Clone();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Bench_TinyMixedJob_RunsOnEachEngine(string engine)
    {
        SkipUnlessAvailable(engine);
        using var dir = new TempDirectory();
        // Size-bound with the default seed, so the mix of reads, writes and fsyncs is the same on every
        // run however slow durable writes are on the machine.
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("f"), "--rw=randrw", "--size=1m", "--io_size=256k", "--time_based=0",
            "--runtime=30s", "--iodepth=4", "--fsync=16", "--dsync", "--ioengine=" + engine, "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        JsonElement job = Json(result).GetProperty("jobs")[0];
        Assert.Equal(0, job.GetProperty("error").GetInt32());
        Assert.Equal(engine, job.GetProperty("engine").GetString());
        long reads = job.GetProperty("read").GetProperty("total_ios").GetInt64();
        long writes = job.GetProperty("write").GetProperty("total_ios").GetInt64();
        Assert.Equal(64, reads + writes);
        Assert.True(reads > 0 && writes >= 16, result.Out);
        Assert.InRange(job.GetProperty("sync").GetProperty("total_ios").GetInt64(), Math.Max(1, (writes / 16) - 1), writes / 16);
    }

    [Theory]
    [MemberData(nameof(IoEngines))]
    public void Bench_VerifiedWritesThenAFlippedByte_VerifyFailsNamingTheOffset(string engine)
    {
        SkipUnlessAvailable(engine);
        using var dir = new TempDirectory();
        string file = dir.File("v");
        KaioCli.Result write = KaioCli.Run("bench", "--filename=" + file, "--rw=randwrite", "--verify=1", "--size=256k", "--runtime=200ms",
            "--iodepth=8", "--numjobs=2", "--ioengine=" + engine);
        Assert.True(write.Exit == 0, write.ToString());

        KaioCli.Result clean = KaioCli.Run("bench", "--filename=" + file, "--verify_only", "--size=256k", "--ioengine=" + engine);
        Assert.True(clean.Exit == 0, clean.ToString());

        const long Flipped = (5 * 4096) + 1234;
        using (SafeFileHandle handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite))
        {
            byte[] one = new byte[1];
            RandomAccess.Read(handle, one, Flipped);
            one[0] ^= 0x5a;
            RandomAccess.Write(handle, one, Flipped);
        }

        KaioCli.Result verify = KaioCli.Run("bench", "--filename=" + file, "--rw=read", "--verify=1", "--size=256k", "--time_based=0", "--ioengine=" + engine);
        Assert.True(verify.Exit == KaioApp.ExitFailed, verify.ToString());
        Assert.Contains("corrupted block at offset 20480: first bad offset 21714", verify.Err, StringComparison.Ordinal);
        Assert.Contains(file, verify.Err, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(IoEngines))]
    public void Bench_DirectVerifiedMix_PassesOnEachEngine(string engine)
    {
        SkipUnlessAvailable(engine);
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("d"), "--rw=randrw", "--direct=1", "--verify=crc64", "--bs=8k",
            "--size=1m", "--runtime=200ms", "--iodepth=8", "--numjobs=2", "--fdatasync=8", "--ioengine=" + engine);
        Assert.True(result.Exit == 0, result.ToString());
    }

    /// <summary>Writes 16 verified 4 KiB blocks, lets <paramref name="damage"/> change the file, and verifies it.</summary>
    private static KaioCli.Result DamageAndVerify(Action<SafeFileHandle> damage, params string[] verifyOptions)
    {
        using var dir = new TempDirectory();
        string file = dir.File("b");
        Assert.Equal(0, KaioCli.Run("bench", "--filename=" + file, "--rw=write", "--verify=1", "--size=64k", "--time_based=0").Exit);
        using (SafeFileHandle handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite))
        {
            damage(handle);
        }

        return KaioCli.Run(["bench", "--filename=" + file, "--verify_only", .. verifyOptions]);
    }

    [Fact]
    public void Bench_BlockCopiedToAnotherOffset_Misplaced()
    {
        KaioCli.Result result = DamageAndVerify(handle =>
        {
            byte[] block = new byte[4096];
            RandomAccess.Read(handle, block, 2 * 4096);
            RandomAccess.Write(handle, block, 5 * 4096);
        });
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        Assert.Contains("misplaced block at offset 20480", result.Err, StringComparison.Ordinal);
        Assert.Contains("the block written for offset 8192 is here", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_FileFromAnotherSeed_Stale()
    {
        KaioCli.Result result = DamageAndVerify(_ => { }, "--seed=12345");
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        Assert.Contains("stale block at offset 0", result.Err, StringComparison.Ordinal);
        Assert.Contains("written by another run", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_BlockWithAZeroedTail_Torn()
    {
        KaioCli.Result result = DamageAndVerify(handle => RandomAccess.Write(handle, new byte[2048], (3 * 4096) + 2048));
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        Assert.Contains("torn block at offset 12288: first bad offset 14336", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_VerifyInJson_FailureIsAField()
    {
        using var dir = new TempDirectory();
        string file = dir.File("v");
        Assert.Equal(0, KaioCli.Run("bench", "--filename=" + file, "--rw=write", "--verify=crc64", "--size=64k", "--time_based=0").Exit);
        using (SafeFileHandle handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.Write(handle, new byte[] { 0xee }, 4096 + 100);
        }

        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + file, "--verify_only", "--verify=crc64", "--output-format=json");
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        JsonElement job = Json(result).GetProperty("jobs")[0];
        Assert.NotEqual(0, job.GetProperty("error").GetInt32());
        JsonElement failure = job.GetProperty("verify_failure");
        Assert.Equal("corrupted", failure.GetProperty("problem").GetString());
        Assert.Equal(4096 + 100, failure.GetProperty("bad_offset").GetInt64());
    }

    [Fact]
    public void Bench_Json_HasFioFields()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("j"), "--rw=randread", "--time_based", "--size=1m", "--runtime=200ms", "--iodepth=4", "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        JsonElement root = Json(result);
        Assert.StartsWith("kaio-", root.GetProperty("fio version").GetString(), StringComparison.Ordinal);
        JsonElement job = root.GetProperty("jobs")[0];
        Assert.Equal("bench", job.GetProperty("jobname").GetString());
        Assert.Equal(0, job.GetProperty("groupid").GetInt32());
        Assert.False(string.IsNullOrEmpty(job.GetProperty("engine_reason").GetString()));
        Assert.True(job.GetProperty("usr_cpu").GetDouble() + job.GetProperty("sys_cpu").GetDouble() > 0);
        Assert.Equal("randread", job.GetProperty("job options").GetProperty("rw").GetString());
        foreach (string dir2 in new[] { "read", "write", "trim" })
        {
            JsonElement d = job.GetProperty(dir2);
            foreach (string field in new[] { "io_bytes", "io_kbytes", "bw_bytes", "bw", "iops", "runtime", "total_ios", "slat_ns", "clat_ns", "lat_ns" })
            {
                Assert.True(d.TryGetProperty(field, out _), $"{dir2}.{field} missing");
            }
        }

        JsonElement read = job.GetProperty("read");
        Assert.True(read.GetProperty("iops").GetDouble() > 0);
        Assert.True(read.GetProperty("bw").GetInt64() > 0);
        Assert.InRange(read.GetProperty("runtime").GetInt64(), 150, 5000);
        JsonElement clat = read.GetProperty("clat_ns");
        foreach (string field in new[] { "min", "max", "mean", "stddev", "N" })
        {
            Assert.True(clat.TryGetProperty(field, out _), "clat_ns." + field);
        }

        JsonElement percentiles = clat.GetProperty("percentile");
        long p50 = percentiles.GetProperty("50.000000").GetInt64();
        long p99 = percentiles.GetProperty("99.000000").GetInt64();
        long p999 = percentiles.GetProperty("99.900000").GetInt64();
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= clat.GetProperty("max").GetInt64());
        Assert.True(clat.GetProperty("min").GetInt64() <= p50);
        Assert.Equal(read.GetProperty("total_ios").GetInt64(), clat.GetProperty("N").GetInt64());
        Assert.True(job.GetProperty("read").GetProperty("lat_ns").GetProperty("mean").GetDouble() >= clat.GetProperty("mean").GetDouble());

        // fio's process counters and distributions.
        foreach (string field in new[] { "ctx", "majf", "minf" })
        {
            Assert.True(job.GetProperty(field).GetInt64() >= 0, field);
        }

        // iodepth=4, one request per submit call (fio's default): the runner refills the free slots
        // one call at a time, each counted at the depth it reached, up to 4 and never beyond.
        JsonElement depth = job.GetProperty("iodepth_level");
        Assert.Equal(["1", "2", "4", "8", "16", "32", ">=64"], depth.EnumerateObject().Select(p => p.Name));
        Assert.InRange(depth.EnumerateObject().Sum(p => p.Value.GetDouble()), 99.9, 100.1);
        Assert.True(depth.GetProperty("4").GetDouble() > 0, depth.ToString());
        Assert.Equal(0, depth.GetProperty("8").GetDouble() + depth.GetProperty("16").GetDouble(), 3);
        double latencyTotal = 0;
        foreach (string unit in new[] { "latency_ns", "latency_us", "latency_ms" })
        {
            latencyTotal += job.GetProperty(unit).EnumerateObject().Sum(p => p.Value.GetDouble());
        }

        Assert.InRange(latencyTotal, 99.9, 100.1); // every I/O in exactly one bucket
        Assert.True(job.GetProperty("latency_ms").TryGetProperty(">=2000", out _));
    }

    [Fact]
    public void Bench_AwaitedJson_IodepthLevelIsTheLoopsOutstanding()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("a"), "--rw=randread", "--time_based", "--size=1m", "--runtime=200ms",
            "--iodepth=8", "--ioengine=threadpool:await", "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        JsonElement depth = Json(result).GetProperty("jobs")[0].GetProperty("iodepth_level");
        Assert.InRange(depth.EnumerateObject().Sum(p => p.Value.GetDouble()), 99.9, 100.1);
        Assert.Equal(0, depth.GetProperty("16").GetDouble()); // never more than the 8 loops
    }

    [Fact]
    public void Bench_JobFile_StonewallGroupsAndGroupReporting()
    {
        using var dir = new TempDirectory();
        string data = dir.File("data");
        string jobFile = dir.WriteJobFile("jobs.fio", $"""
            [global]
            filename={data}
            size=512k
            bs=4k
            iodepth=4

            [fill]
            rw=write
            verify=1

            [readers]
            stonewall
            rw=randread
            runtime=100ms
            time_based
            numjobs=2
            group_reporting

            [check]
            stonewall
            verify_only
            """);
        KaioCli.Result result = KaioCli.Run("bench", jobFile, "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        JsonElement jobs = Json(result).GetProperty("jobs");
        Assert.Equal(3, jobs.GetArrayLength());
        Assert.Equal([0, 1, 2], jobs.EnumerateArray().Select(j => j.GetProperty("groupid").GetInt32()));
        Assert.Equal(128, jobs[0].GetProperty("write").GetProperty("total_ios").GetInt64());
        Assert.Equal(2, jobs[1].GetProperty("numjobs").GetInt32());
        Assert.Equal(128, jobs[2].GetProperty("read").GetProperty("total_ios").GetInt64());
    }

    [Theory]
    [MemberData(nameof(IoEngines))]
    public void Bench_LoopsIoSizeBatchesAndDirectory_CountAsFioDoes(string engine)
    {
        SkipUnlessAvailable(engine);
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--directory=" + dir.Path, "--rw=write", "--size=1m", "--io_size=64k", "--loops=3", "--time_based=0",
            "--iodepth=8", "--iodepth_batch_submit=3", "--iodepth_batch_complete_min=2", "--iodepth_batch_complete_max=4", "--ioengine=" + engine, "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        JsonElement job = Json(result).GetProperty("jobs")[0];
        Assert.Equal(3 * 16, job.GetProperty("write").GetProperty("total_ios").GetInt64());
        Assert.StartsWith(dir.Path + "/kaio-bench-", job.GetProperty("filename").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    /// <summary>Issue 13: runtime=0 with time_based exited 0 having done no I/O; fio warns and runs size-bound.</summary>
    [Theory]
    [InlineData("--time_based")]
    [InlineData("--time_based=0")]
    public void Bench_RuntimeZero_RunsSizeBound(string timeBased)
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("z"), "--size=64k", "--runtime=0", timeBased, "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(16, Json(result).GetProperty("jobs")[0].GetProperty("read").GetProperty("total_ios").GetInt64());
        if (timeBased == "--time_based")
        {
            Assert.Equal("kaio: warning: command line: time_based with runtime=0: running size-bound, as fio does", result.Err.Trim());
        }
    }

    [Fact]
    public void Bench_RampTime_NotCountedInRuntime()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("r"), "--size=1m", "--rw=randread", "--time_based", "--ramp_time=300ms", "--runtime=200ms", "--iodepth=2", "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        JsonElement job = Json(result).GetProperty("jobs")[0];
        Assert.InRange(job.GetProperty("read").GetProperty("runtime").GetInt64(), 150, 480); // with the ramp it would be 500 or more
    }

    [Fact]
    public void Bench_Compare_OneTableWithRatiosAgainstRandomAccess()
    {
        KaioCli.Result result = KaioCli.Run("bench", "--compare", "--rw=randread", "--time_based", "--size=1m", "--runtime=500ms", "--iodepth=4");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("randomaccess (baseline)", result.Out, StringComparison.Ordinal);
        Assert.Contains("1.00x", result.Out, StringComparison.Ordinal);
        Assert.Contains("IOPS vs RandomAccess", result.Out, StringComparison.Ordinal);
        foreach (AioEngineStatus status in AioContext.ProbeEngines().Where(s => s.Available && s.Kind != AioEngineKind.Auto))
        {
            Assert.Contains(Jobs.IoEngineChoice.DisplayName(status.Kind), result.Out, StringComparison.Ordinal);
            Assert.Contains(Jobs.IoEngineChoice.DisplayName(status.Kind) + ":await", result.Out, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Bench_CompareJson_HasCompareRows()
    {
        KaioCli.Result result = KaioCli.Run("bench", "--compare", "--rw=randread", "--time_based", "--size=1m", "--runtime=500ms", "--iodepth=2", "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        JsonElement rows = Json(result).GetProperty("compare");
        Assert.True(rows.GetArrayLength() >= 2);
        JsonElement baseline = rows.EnumerateArray().Single(r => r.GetProperty("baseline").GetBoolean());
        Assert.Equal("randomaccess", baseline.GetProperty("engine").GetString());
        // The whole report in the message: once (CI, under load) the baseline row had no ratio.
        Assert.True(baseline.TryGetProperty("iops_ratio", out JsonElement ratio), "no iops_ratio on the baseline row:\n" + result.Out);
        Assert.Equal(1.0, ratio.GetDouble());
    }

    [Fact]
    public void Bench_Default_UnderFifteenSecondsAndRemovesItsFile()
    {
        string tempDirectory = Workloads.TargetFile.ChooseTempDirectory();
        var stopwatch = Stopwatch.StartNew();
        KaioCli.Result result = KaioCli.Run("bench");
        stopwatch.Stop();
        Assert.True(result.Exit == 0, result.ToString());
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(15));
        Assert.Contains("rw=randread, bs=4KiB, iodepth=32, size=64MiB, runtime=3s time_based", result.Out, StringComparison.Ordinal);
        Assert.Contains("p99.9", result.Out, StringComparison.Ordinal);
        Assert.Matches(@"engine (io_uring|libaio|threadpool)\b", result.Out);
        string laidOut = System.Text.RegularExpressions.Regex.Match(result.Out, @"laying out (\S+) ").Groups[1].Value;
        Assert.StartsWith(tempDirectory + "/kaio-bench-", laidOut, StringComparison.Ordinal);
        Assert.False(File.Exists(laidOut), laidOut + " was not removed");
    }

    [Fact]
    public void Bench_NoSpaceLeft_OneLineNamingTheFile()
    {
        KaioCli.Result result = KaioCli.Run("bench", "--filename=/dev/full", "--rw=write", "--size=64k", "--runtime=1s");
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        Assert.Contains("/dev/full: write at offset", result.Err, StringComparison.Ordinal);
        Assert.Contains("no space left on device (ENOSPC)", result.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_NoSpaceLeftInJson_ValidJsonWithTheError()
    {
        KaioCli.Result result = KaioCli.Run("bench", "--filename=/dev/full", "--rw=write", "--size=64k", "--runtime=1s", "--output-format=json");
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        JsonElement job = Json(result).GetProperty("jobs")[0];
        Assert.Equal(28, job.GetProperty("error").GetInt32());
        Assert.Contains("ENOSPC", job.GetProperty("error_message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_MissingDirectory_OneLineNamingTheFile()
    {
        KaioCli.Result result = KaioCli.Run("bench", "--filename=/nonexistent-kaio-dir/data", "--size=64k", "--runtime=100ms");
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        Assert.Equal("kaio: /nonexistent-kaio-dir/data: laying out failed: no such file or directory (ENOENT)", result.Err.Trim());
    }

    [Fact]
    public void Bench_SizeNotGivenForAMissingFile_Error()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteJobFile("j.fio", $"[j]\nfilename={dir.File("absent")}\n");
        KaioCli.Result result = KaioCli.Run("bench", path);
        Assert.Equal(KaioApp.ExitUsage, result.Exit);
        Assert.Contains("size= not given and the file is missing", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_MisalignedDirectIo_NamesTheAlignment()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("d"), "--direct=1", "--bs=1000", "--size=100000", "--runtime=100ms");
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        Assert.Contains("is not a multiple of the file system's direct I/O alignment", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_DirectIoRefused_OneLineNamingTheFile()
    {
        string? refusing = null;
        foreach (string candidate in new[] { "/dev/shm", "/run", "/var/tmp", Path.GetTempPath() })
        {
            string probe = Path.Combine(candidate, "kaio-odirect-" + Guid.NewGuid().ToString("N"));
            try
            {
                File.WriteAllBytes(probe, new byte[4096]);
                using SafeFileHandle handle = AioFile.Open(probe, FileMode.Open, FileAccess.Read, AioOpenOptions.Direct);
            }
            catch (AioException e) when (e.Errno == Errno.EINVAL)
            {
                refusing = probe;
                break;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            finally
            {
                if (refusing != probe)
                {
                    File.Delete(probe);
                }
            }
        }

        if (refusing is null)
        {
            Assert.Skip("every writable file system here accepts O_DIRECT (tried /dev/shm, /run, /var/tmp and the temp directory)");
        }

        try
        {
            KaioCli.Result result = KaioCli.Run("bench", "--filename=" + refusing, "--direct=1", "--size=4k", "--runtime=100ms");
            Assert.Equal(KaioApp.ExitFailed, result.Exit);
            Assert.Equal($"kaio: {refusing}: the file system refuses O_DIRECT (direct=1): invalid argument (EINVAL)", result.Err.Trim());
        }
        finally
        {
            File.Delete(refusing);
        }
    }

    [Fact]
    public void Bench_EngineThatDoesNotWorkHere_OneLineWithTheReason()
    {
        AioEngineStatus? missing = AioContext.ProbeEngines().FirstOrDefault(s => !s.Available);
        if (missing is null)
        {
            Assert.Skip("every engine works on this machine: " + string.Join("; ", AioContext.ProbeEngines().Select(s => s.Reason)));
        }

        string name = Jobs.IoEngineChoice.DisplayName(missing.Kind);
        KaioCli.Result result = KaioCli.Run("bench", "--ioengine=" + name, "--size=64k", "--runtime=100ms");
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        Assert.Contains($"ioengine={name} does not work here: {missing.Reason}", result.Err, StringComparison.Ordinal);
    }

    private static IReadOnlyList<AioEngineStatus> WithoutIoUring() =>
        [.. AioContext.ProbeEngines().Select(s => s.Kind == AioEngineKind.IoUring ? s with { Available = false, Reason = "io_uring_setup: EPERM (seccomp)" } : s)];

    [Fact]
    public void Bench_EngineThatDoesNotWorkHere_SimulatedProbe_RefusedBeforeAnyIo()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.RunWithEngines(WithoutIoUring, "bench", "--ioengine=io_uring", "--filename=" + dir.File("never"), "--size=64k");
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        Assert.Equal("kaio: command line: ioengine=io_uring does not work here: io_uring_setup: EPERM (seccomp)", result.Err.Trim());
        Assert.False(File.Exists(dir.File("never")));

        KaioCli.Result json = KaioCli.RunWithEngines(WithoutIoUring, "bench", "--ioengine=io_uring", "--output-format=json");
        Assert.Equal(KaioApp.ExitFailed, json.Exit);
        Assert.Contains("EPERM (seccomp)", Json(json).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_Compare_SimulatedProbe_SaysWhichEngineWasLeftOutAndWhy()
    {
        KaioCli.Result result = KaioCli.RunWithEngines(WithoutIoUring, "bench", "--compare", "--rw=randread", "--time_based", "--size=1m", "--runtime=100ms", "--iodepth=2");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("io_uring: not compared, does not work here: io_uring_setup: EPERM (seccomp)", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("│ io_uring", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_ReportsKernelEnginesLimitsAndAlignment()
    {
        KaioCli.Result result = KaioCli.Run("info", "--output-format=json");
        Assert.True(result.Exit == 0, result.ToString());
        JsonElement info = Json(result);
        Assert.StartsWith("Linux ", info.GetProperty("kernel").GetString(), StringComparison.Ordinal);
        Assert.Equal(4, info.GetProperty("engines").EnumerateArray().Count(e => e.GetProperty("reason").GetString()!.Length > 0));
        Assert.Equal(File.ReadAllText("/proc/sys/fs/aio-max-nr").Trim(), info.GetProperty("aio_max_nr").GetString());
        Assert.Contains("alignment", info.GetProperty("direct_io").GetString(), StringComparison.Ordinal);

        KaioCli.Result normal = KaioCli.Run("info");
        Assert.Equal(0, normal.Exit);
        Assert.Contains("aio-max-nr", normal.Out, StringComparison.Ordinal);
        Assert.Contains("io_uring", normal.Out, StringComparison.Ordinal);
    }
}
