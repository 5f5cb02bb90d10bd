using System.Diagnostics;
using System.Text.Json;
using Kaio.Cli.Jobs;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

/// <summary>Issue 13's wrong or unhelpful messages, each pinned to what it should say.</summary>
public class MessageTests
{
    private static void AssertOneLine(KaioCli.Result result, int exit, string expected)
    {
        Assert.True(result.Exit == exit, result.ToString());
        string line = Assert.Single(result.Err.TrimEnd().Split('\n'));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", line, StringComparison.Ordinal);
    }

    /// <summary>Was "internal error: NotSupportedException: Stream does not support seeking." after laying out started.</summary>
    [Fact]
    public void Bench_FifoAsFilename_SaysItIsUnsupported()
    {
        using var dir = new TempDirectory();
        string fifo = dir.File("fifo");
        using (Process mkfifo = Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + fifo, "--size=64k", "--rw=write");
        AssertOneLine(result, KaioApp.ExitUsage, $"command line: {fifo}: a FIFO or other unseekable file is not supported: kaio needs a regular file or a block device");
    }

    /// <summary>Was found only after [a] had run, naming kaio's temporary path.</summary>
    [Fact]
    public void Bench_LaterJobWithoutSize_RefusedBeforeAnyJobRuns()
    {
        using var dir = new TempDirectory();
        string jobFile = dir.WriteJobFile("j.fio", $"[global]\ndirectory={dir.Path}\n[a]\nsize=64k\n[b]\nstonewall\n");
        KaioCli.Result result = KaioCli.Run("bench", jobFile);
        AssertOneLine(result, KaioApp.ExitUsage, $"{jobFile} [b]: size= not given");
        Assert.DoesNotContain("laying out", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", result.Err, StringComparison.Ordinal);
    }

    /// <summary>Was "cannot read job file '/tmp': Access to the path '/tmp' is denied."</summary>
    [Fact]
    public void Bench_DirectoryAsJobFile_SaysItIsADirectory()
    {
        using var dir = new TempDirectory();
        AssertOneLine(KaioCli.Run("bench", dir.Path), KaioApp.ExitUsage, $"job file '{dir.Path}' is a directory");
    }

    /// <summary>Was reported as a corrupted block.</summary>
    [Fact]
    public void Bench_VerifyOnlyWithAnotherBs_SaysTheBlockSizesDiffer()
    {
        using var dir = new TempDirectory();
        string file = dir.File("v");
        Assert.Equal(0, KaioCli.Run("bench", "--filename=" + file, "--rw=write", "--verify=1", "--size=64k").Exit);
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + file, "--verify_only", "--bs=8k");
        AssertOneLine(result, KaioApp.ExitFailed, $"verify failed in {file}: block size mismatch at offset 0: the block there was written with bs=4KiB, this job reads bs=8KiB");
    }

    /// <summary>fio's escaped colon: was "several files per job (':') are not supported".</summary>
    [Fact]
    public void Bench_EscapedColonInFilename_IsPartOfTheName()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File(@"a\:b"), "--size=64k", "--rw=write");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.True(File.Exists(dir.File("a:b")));
        Assert.Equal(dir.File("a:b"), Assert.Single(KaioApp.ParseBench(["--filename=" + dir.File(@"a\:b"), "--size=64k"])).FileName);
    }

    /// <summary>Were reported as unknown suffixes or "not an integer", as if a typo.</summary>
    [Theory]
    [InlineData("--size=30%", "command line: size=30% is a share of an existing file; name one with filename=")]
    [InlineData("--size=130%", "--size=130%: a percentage of the file must be above 0 and at most 100")]
    [InlineData("--size=1z", "--size=1z: '1z' is not a valid size (a number with an optional k/m/g/t/p suffix, like 4k or 64MiB)")]
    [InlineData("--size=a*b", "--size=a*b: 'a*b' is not a valid size (a number with an optional k/m/g/t/p suffix, like 4k or 64MiB)")]
    [InlineData("--iodepth=1z", "--iodepth=1z: '1z' is not a valid number")]
    [InlineData("--numjobs=a*b", "--numjobs=a*b: 'a*b' is not a valid number")]
    public void Bench_NotASizeOrNumber_SaysSo(string arg, string expected)
    {
        KaioCli.Result result = KaioCli.Run("bench", arg);
        Assert.Equal(KaioApp.ExitUsage, result.Exit);
        Assert.Equal("kaio: " + expected, result.Err.Trim());
    }

    /// <summary>Raw control bytes were echoed into the terminal.</summary>
    [Fact]
    public void Bench_ControlBytesInAValue_Escaped()
    {
        KaioCli.Result result = KaioCli.Run("bench", "--bs=4\u0001\u001b[31mk");
        Assert.Equal(KaioApp.ExitUsage, result.Exit);
        Assert.Contains(@"4\x01\x1b[31mk", result.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Err.TrimEnd(), c => char.IsControl(c));
    }

    /// <summary>Was "Option '--rw' expects a single argument but 2 were provided."; fio takes the last.</summary>
    [Fact]
    public void ParseBench_OptionGivenTwice_LastWins()
    {
        JobSpec job = Assert.Single(KaioApp.ParseBench(["--rw=read", "--rw=write", "--size=64k", "--bs", "8k", "--bs=16k", "--direct=1", "--direct=0"]));
        Assert.Equal(ReadWriteMode.Write, job.ReadWrite);
        Assert.Equal(16384, job.BlockSize);
        Assert.False(job.Direct);
    }

    /// <summary>A later group that a signal kept from starting was shown as failed ("interrupted").</summary>
    [Fact]
    public void Bench_GroupNeverStarted_ShownAsNotRun()
    {
        using var dir = new TempDirectory();
        string jobFile = dir.WriteJobFile("two.fio", $"""
            [global]
            directory={dir.Path}
            size=1m
            ioengine=threadpool

            [first]
            rw=randread
            runtime=30s
            time_based

            [second]
            stonewall
            rw=read
            """);
        using KaioProcess kaio = KaioProcess.Start(ignoring: null, "bench", jobFile, "--output-format=json");
        kaio.WaitForJobThread("first", settle: TimeSpan.FromMilliseconds(200));
        kaio.Signal("TERM");
        KaioCli.Result result = kaio.WaitForExit(TimeSpan.FromSeconds(6));
        Assert.True(result.Exit == 143, result.ToString());
        Assert.Equal("", result.Err.Trim());
        using var doc = JsonDocument.Parse(result.Out);
        JsonElement second = doc.RootElement.GetProperty("jobs")[1];
        Assert.Equal("second", second.GetProperty("jobname").GetString());
        Assert.Equal(0, second.GetProperty("error").GetInt32());
        Assert.True(second.GetProperty("not_run").GetBoolean());
    }

    [Fact]
    public void Bench_GroupNeverStarted_TextSaysNotRun()
    {
        using var dir = new TempDirectory();
        string jobFile = dir.WriteJobFile("two.fio", $"[global]\ndirectory={dir.Path}\nsize=1m\nioengine=threadpool\n[first]\nruntime=30s\ntime_based\n[second]\nstonewall\n");
        using KaioProcess kaio = KaioProcess.Start(ignoring: null, "bench", jobFile);
        kaio.WaitForJobThread("first", settle: TimeSpan.FromMilliseconds(200));
        kaio.Signal("TERM");
        KaioCli.Result result = kaio.WaitForExit(TimeSpan.FromSeconds(6));
        Assert.True(result.Exit == 143, result.ToString());
        Assert.Matches(@"│ second +│ threadpool +│ not run", result.Out);
        Assert.DoesNotContain("failed", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_CompareStoppedDuringTheBaseline_OtherEnginesNotRunWithoutRatios()
    {
        using var dir = new TempDirectory();
        using KaioProcess kaio = KaioProcess.Start(ignoring: null, "bench", "--compare", "--directory=" + dir.Path, "--size=1m", "--time_based", "--runtime=30s", "--output-format=json");
        kaio.WaitForJobThread("bench@randomaccess", settle: TimeSpan.FromMilliseconds(200));
        kaio.Signal("TERM");
        KaioCli.Result result = kaio.WaitForExit(TimeSpan.FromSeconds(6));
        Assert.True(result.Exit == 143, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        JsonElement[] rows = [.. doc.RootElement.GetProperty("compare").EnumerateArray()];
        Assert.True(rows.Length >= 2, result.Out);
        Assert.All(rows.Skip(1), row =>
        {
            Assert.True(row.GetProperty("not_run").GetBoolean());
            Assert.False(row.TryGetProperty("iops_ratio", out _));
        });
    }
}
