using System.Runtime.InteropServices;
using System.Text.Json;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

/// <summary>
/// A real kaio process, stopped by a signal in the middle of a 30-second run: it reports what it
/// measured, removes the temporary file it created and exits with 128 + the signal's number.
/// </summary>
public class SignalTests
{
    private static readonly TimeSpan s_exitLimit = TimeSpan.FromSeconds(6);

    /// <summary>
    /// Starts a time-based run (30 s unless <paramref name="runtime"/> says otherwise) whose
    /// temporary file kaio names itself in <paramref name="dir"/>, with <paramref name="ignoring"/>
    /// ignored from the start; returns once it does I/O, with that file's path.
    /// </summary>
    private static KaioProcess StartRunning(TempDirectory dir, out string tempFile, string format = "normal", string runtime = "30s", string? ignoring = null)
    {
        KaioProcess kaio = KaioProcess.Start(ignoring, "bench", "--directory=" + dir.Path, "--size=1m", "--time_based", "--runtime=" + runtime, "--ioengine=threadpool", "--output-format=" + format);
        kaio.WaitForJobThread("bench", settle: TimeSpan.FromMilliseconds(300));
        tempFile = Assert.Single(Directory.GetFiles(dir.Path));
        Assert.StartsWith("kaio-bench-", Path.GetFileName(tempFile), StringComparison.Ordinal);
        return kaio;
    }

    [Fact]
    public void Bench_Sigterm_JsonReportRemovesItsFileExits143()
    {
        using var dir = new TempDirectory();
        using KaioProcess kaio = StartRunning(dir, out string tempFile, format: "json");
        kaio.Signal("TERM");
        KaioCli.Result result = kaio.WaitForExit(s_exitLimit);

        Assert.True(result.Exit == 143, result.ToString());
        // One document: Parse refuses anything after the first value.
        using var doc = JsonDocument.Parse(result.Out);
        JsonElement root = doc.RootElement;
        Assert.Equal("interrupted", root.GetProperty("error").GetString());
        Assert.Equal("SIGTERM", root.GetProperty("signal").GetString());
        JsonElement read = root.GetProperty("jobs")[0].GetProperty("read");
        Assert.True(read.GetProperty("total_ios").GetInt64() > 0, result.ToString());
        Assert.InRange(read.GetProperty("runtime").GetInt64(), 1, 29_000);
        Assert.False(File.Exists(tempFile), tempFile + " was not removed");
    }

    [Fact]
    public void Bench_Sighup_TextReportSaysInterruptedRemovesItsFileExits129()
    {
        if (KaioProcess.StartsIgnoring(PosixSignal.SIGHUP))
        {
            Assert.Skip("SIGHUP is ignored in this test process (started under nohup), so it would be in kaio too");
        }

        using var dir = new TempDirectory();
        using KaioProcess kaio = StartRunning(dir, out string tempFile);
        kaio.Signal("HUP");
        KaioCli.Result result = kaio.WaitForExit(s_exitLimit);

        Assert.True(result.Exit == 129, result.ToString());
        Assert.Matches(@"│ bench +│ threadpool +│ read +│ +[0-9.]+[kM]? +│", result.Out);
        Assert.Contains("interrupted by SIGHUP", result.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(tempFile), tempFile + " was not removed");
    }

    [Fact]
    public void Bench_Sigint_TextReportSaysInterruptedRemovesItsFileExits130()
    {
        if (KaioProcess.StartsIgnoring(PosixSignal.SIGINT))
        {
            Assert.Skip("SIGINT is ignored in this test process (started in the background), so it would be in kaio too");
        }

        using var dir = new TempDirectory();
        using KaioProcess kaio = StartRunning(dir, out string tempFile);
        kaio.Signal("INT");
        KaioCli.Result result = kaio.WaitForExit(s_exitLimit);

        Assert.True(result.Exit == 130, result.ToString());
        Assert.Matches(@"│ bench +│ threadpool +│ read +│ +[0-9.]+[kM]? +│", result.Out);
        Assert.Contains("interrupted by SIGINT", result.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(tempFile), tempFile + " was not removed");
    }

    [Fact]
    public void Bench_SighupIgnoredAtStart_StaysIgnoredRunsToTheEnd()
    {
        // nohup's promise: a hang-up does not stop a run started ignoring it.
        using var dir = new TempDirectory();
        using KaioProcess kaio = StartRunning(dir, out string tempFile, format: "json", runtime: "2s", ignoring: "HUP");
        kaio.Signal("HUP");
        KaioCli.Result result = kaio.WaitForExit(s_exitLimit);

        Assert.True(result.Exit == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        Assert.False(doc.RootElement.TryGetProperty("error", out _), result.Out);
        Assert.InRange(doc.RootElement.GetProperty("jobs")[0].GetProperty("read").GetProperty("runtime").GetInt64(), 1900, 2500);
        Assert.False(File.Exists(tempFile), tempFile + " was not removed");
    }
}
