using System.Diagnostics;
using System.Text.Json;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

/// <summary>
/// The jobs of a group start together and share one measured window (issue 13: numjobs=200 ran
/// 18 s for a 2 s runtime and reported 15x fio's IOPS, each thread timing its own staggered window).
/// </summary>
public class GroupWindowTests
{
    [Fact]
    public void Bench_ManyThreadsInTwoJobs_StartTogetherAndShareOneWindow()
    {
        using var dir = new TempDirectory();
        string jobFile = dir.WriteJobFile("many.fio", $"""
            [global]
            directory={dir.Path}
            ioengine=null
            rw=randread
            size=256k
            runtime=1
            time_based
            numjobs=32

            [a]
            [b]
            """);
        var wall = Stopwatch.StartNew();
        KaioCli.Result result = KaioCli.Run("bench", jobFile, "--output-format=json");
        wall.Stop();
        long endedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.True(result.Exit == 0, result.ToString());
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(5), $"64 threads with runtime=1 took {wall.Elapsed.TotalSeconds:0.0} s");

        using var doc = JsonDocument.Parse(result.Out);
        JsonElement[] jobs = [.. doc.RootElement.GetProperty("jobs").EnumerateArray()];
        Assert.Equal(2, jobs.Length);
        foreach (JsonElement job in jobs)
        {
            JsonElement read = job.GetProperty("read");
            long runtime = read.GetProperty("runtime").GetInt64();
            Assert.InRange(runtime, 950, 2000);
            double ios = read.GetProperty("iops").GetDouble() * runtime / 1000;
            Assert.InRange(ios, read.GetProperty("total_ios").GetInt64() * 0.99, read.GetProperty("total_ios").GetInt64() * 1.01);
        }

        // One window: both jobs (64 threads) were released at the same moment.
        long startA = jobs[0].GetProperty("job_start").GetInt64();
        long startB = jobs[1].GetProperty("job_start").GetInt64();
        Assert.InRange(Math.Abs(startA - startB), 0, 100);

        // Every I/O of the 64 threads was done between job_start and kaio's return: staggered
        // windows (each thread starting its second when it was set up) spread them over seconds
        // more than the reported runtime, whatever the machine's load did to setting up (which
        // comes before job_start). 3 x runtime leaves the report's own time and a loaded machine room.
        foreach (JsonElement job in jobs)
        {
            long span = endedMs - job.GetProperty("job_start").GetInt64();
            Assert.True(span < 3 * job.GetProperty("read").GetProperty("runtime").GetInt64(), $"I/O over {span} ms for a runtime of {job.GetProperty("read").GetProperty("runtime").GetInt64()} ms");
        }
    }
}
