using Kaio.Cli.Jobs;
using Kaio.Cli.Workloads;

namespace Kaio.Cli.Tests;

/// <summary>fio's offset and block-size options, as the offsets and lengths a job thread issues.</summary>
public class OffsetSourceTests
{
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

    private static List<(long Offset, int Length, bool IsWrite)> Draw(JobSpec job, long region, int count, long totalBytes = -1)
    {
        var source = new OffsetSource(0, region, job, totalBytes, job.Seed, 0, trackBusy: false);
        var requests = new List<(long, int, bool)>();
        for (int i = 0; i < count && source.TryNext(out long offset, out int length, out bool isWrite) == NextIo.Ready; i++)
        {
            Assert.InRange(offset, 0, region - length);
            requests.Add((offset, length, isWrite));
        }

        return requests;
    }

    [Fact]
    public void Bs_CommaSeparated_FollowsFiosRule()
    {
        JobSpec both = Job("bs=8k,32k");
        Assert.Equal((8192, 32768, 32768), (both.Sizes(Direction.Read).Min, both.Sizes(Direction.Write).Min, both.Sizes(Direction.Trim).Min));
        JobSpec writesOnly = Job("bs=,8k");
        Assert.Equal((4096, 8192, 8192), (writesOnly.Sizes(Direction.Read).Min, writesOnly.Sizes(Direction.Write).Min, writesOnly.Sizes(Direction.Trim).Min));
        JobSpec trailing = Job("bs=8k,32k,");
        Assert.Equal((8192, 32768, 4096), (trailing.Sizes(Direction.Read).Min, trailing.Sizes(Direction.Write).Min, trailing.Sizes(Direction.Trim).Min));
    }

    [Fact]
    public void Bs_PerDirection_ReadsAndWritesGetTheirOwnSize()
    {
        JobSpec job = Job("rw=randrw", "bs=4k,16k");
        var requests = Draw(job, 1 << 20, 2000);
        Assert.All(requests, r => Assert.Equal(r.IsWrite ? 16384 : 4096, r.Length));
        Assert.Contains(requests, r => r.IsWrite);
        Assert.Contains(requests, r => !r.IsWrite);
        Assert.Equal(16384, job.BlockSize); // buffers fit the largest
    }

    [Fact]
    public void Bssplit_SharesFollowThePercentages_BlankSharesSplitTheRest()
    {
        JobSpec job = Job("rw=randread", "bssplit=4k/50:1k/:32k/");
        BlockSizeChoice sizes = job.Sizes(Direction.Read);
        Assert.Equal([new BlockSplit(4096, 50), new BlockSplit(1024, 25), new BlockSplit(32768, 25)], sizes.Split);
        var requests = Draw(job, 16 << 20, 20000);
        double share4k = requests.Count(r => r.Length == 4096) / (double)requests.Count;
        double share1k = requests.Count(r => r.Length == 1024) / (double)requests.Count;
        Assert.InRange(share4k, 0.47, 0.53);
        Assert.InRange(share1k, 0.22, 0.28);
        Assert.All(requests, r => Assert.Contains(r.Length, (int[])[1024, 4096, 32768]));
        // Random offsets are multiples of blockalign, by default the smallest size.
        Assert.All(requests, r => Assert.Equal(0, r.Offset % 1024));
    }

    [Theory]
    [InlineData("bssplit=4k/60:8k/50", "add up to 110")]
    [InlineData("bssplit=4k/x", "not a percentage")]
    [InlineData("bs=1k,2k,3k,4k", "at most three")]
    public void Bssplit_Bad_IsRefusedNamingTheProblem(string option, string expected)
    {
        int equals = option.IndexOf('=', StringComparison.Ordinal);
        var e = Assert.Throws<JobOptionException>(() => JobOptions.Apply(new JobSpec(), option[..equals], option[(equals + 1)..]));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bsrange_SizesAreMultiplesOfTheMinimumWithinTheRange()
    {
        JobSpec job = Job("rw=read", "bsrange=4k-16k");
        var requests = Draw(job, 8 << 20, 4000);
        Assert.All(requests, r => Assert.True(r.Length % 4096 == 0 && r.Length is >= 4096 and <= 16384, $"{r.Length}"));
        Assert.Equal(4, requests.Select(r => r.Length).Distinct().Count());
        // Sequential: each request starts where the one before ended.
        for (int i = 1; i < requests.Count && requests[i].Offset != 0; i++)
        {
            Assert.Equal(requests[i - 1].Offset + requests[i - 1].Length, requests[i].Offset);
        }
    }

    [Fact]
    public void Blockalign_RandomOffsetsAreMultiplesOfIt()
    {
        JobSpec job = Job("rw=randread", "bs=4k", "blockalign=64k");
        var requests = Draw(job, 8 << 20, 2000);
        Assert.All(requests, r => Assert.Equal(0, r.Offset % 65536));
        Assert.True(requests.Select(r => r.Offset).Distinct().Count() > 50);
    }

    [Fact]
    public void SizeBound_StopsAfterItsBytes_WithVariableSizes()
    {
        JobSpec job = Job("rw=read", "bssplit=4k/50:64k/50");
        var requests = Draw(job, 64 << 20, int.MaxValue, totalBytes: 1 << 20);
        long bytes = requests.Sum(r => (long)r.Length);
        Assert.True(bytes >= 1 << 20 && bytes - requests[^1].Length < 1 << 20, $"{bytes} bytes");
    }

    [Fact]
    public void RwSkip_LeavesHolesBetweenSequentialWrites()
    {
        JobSpec job = Job("rw=write:4k", "bs=4k");
        Assert.Equal([0L, 8192, 16384, 24576, 0, 8192], Draw(job, 32768, 6).Select(r => r.Offset));
    }

    [Fact]
    public void RwNegativeSkip_ReadsBackwardsFromTheEnd_AsFioDoes()
    {
        // fio's get_next_seq_offset(): the first read at 0, then it wraps to the end and walks down by bs.
        JobSpec job = Job("rw=read:-8k", "bs=4k");
        Assert.Equal([0L, 32768 - 8192, 32768 - 12288, 32768 - 16384], Draw(job, 32768, 4).Select(r => r.Offset));
    }

    [Fact]
    public void RandomRun_TakesANewRandomOffsetEveryNRequests()
    {
        JobSpec job = Job("rw=randread:4", "bs=4k");
        var offsets = Draw(job, 64 << 20, 400).Select(r => r.Offset).ToList();
        int jumps = 0;
        for (int i = 1; i < offsets.Count; i++)
        {
            if (i % 4 == 0)
            {
                jumps += offsets[i] != offsets[i - 1] + 4096 ? 1 : 0;
            }
            else
            {
                Assert.Equal(offsets[i - 1] + 4096, offsets[i]);
            }
        }

        Assert.True(jumps > 90, $"{jumps} jumps");
    }

    [Fact]
    public void Zoned_EachZoneGetsItsShareOfRequests()
    {
        JobSpec job = Job("rw=randread", "bs=4k", "random_distribution=zoned:50/5:30/15:20/");
        long region = 100L * 4096 * 100; // 10000 blocks
        var requests = Draw(job, region, 20000);
        double first = requests.Count(r => r.Offset < region * 5 / 100) / (double)requests.Count;
        double second = requests.Count(r => r.Offset >= region * 5 / 100 && r.Offset < region * 20 / 100) / (double)requests.Count;
        Assert.InRange(first, 0.47, 0.53);
        Assert.InRange(second, 0.27, 0.33);
    }

    [Fact]
    public void ZonedAbs_ZoneSizesAreBytes()
    {
        JobSpec job = Job("rw=randread", "bs=4k", "random_distribution=zoned_abs:80/1m:20/");
        var requests = Draw(job, 64 << 20, 10000);
        double inFirstMiB = requests.Count(r => r.Offset < 1 << 20) / (double)requests.Count;
        Assert.InRange(inFirstMiB, 0.77, 0.83);
    }

    [Theory]
    [InlineData("zipf:1.2")]
    [InlineData("pareto:0.2")]
    [InlineData("normal:5")]
    public void SkewedDistributions_ConcentrateRequestsOnFewBlocks(string distribution)
    {
        const int Blocks = 10000;
        JobSpec uniform = Job("rw=randread", "bs=4k");
        JobSpec skewed = Job("rw=randread", "bs=4k", "random_distribution=" + distribution);
        double HottestTenthShare(JobSpec job)
        {
            var counts = Draw(job, (long)Blocks * 4096, 50000).GroupBy(r => r.Offset).Select(g => g.Count()).OrderDescending().ToList();
            return counts.Take(Blocks / 10).Sum() / 50000.0;
        }

        double uniformShare = HottestTenthShare(uniform);
        double skewedShare = HottestTenthShare(skewed);
        Assert.InRange(uniformShare, 0.10, 0.25);
        Assert.True(skewedShare > 0.5, $"{distribution}: the hottest 10% of blocks took {skewedShare:P0} of requests");
    }

    [Fact]
    public void SkewedDistributions_ScatterTheHotBlocks_AndRepeatPerSeed()
    {
        JobSpec job = Job("rw=randread", "bs=4k", "random_distribution=zipf:1.1");
        var first = Draw(job, 4096L * 100000, 5000);
        Assert.Equal(first, Draw(job, 4096L * 100000, 5000));
        long hottest = first.GroupBy(r => r.Offset).OrderByDescending(g => g.Count()).First().Key;
        var secondHottest = first.GroupBy(r => r.Offset).OrderByDescending(g => g.Count()).Skip(1).First().Key;
        Assert.NotEqual(4096, Math.Abs(hottest - secondHottest)); // not packed side by side at the start
    }

    [Theory]
    [InlineData("random_distribution=zipf:1", "not 1")]
    [InlineData("random_distribution=zoned:50/5:30/15", "not 100")]
    [InlineData("random_distribution=zipf:0.5,pareto:0.2", "per direction")]
    [InlineData("random_distribution=gamma", "unsupported")]
    public void RandomDistribution_Bad_IsRefused(string option, string expected)
    {
        int equals = option.IndexOf('=', StringComparison.Ordinal);
        var e = Assert.Throws<JobOptionException>(() => JobOptions.Apply(new JobSpec(), option[..equals], option[(equals + 1)..]));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("blockalign", "512")]
    [InlineData("rw", "write:2k")]
    [InlineData("offset", "1k")]
    public void Verify_WithRequestsOffTheBlockGrid_IsRefused(string option, string value)
    {
        var job = new JobSpec();
        JobOptions.Apply(job, "verify", "crc32c");
        JobOptions.Apply(job, option, value);
        Assert.Contains("multiples of bs", job.Validate(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tausworthe", null)]
    [InlineData("tausworthe64", null)]
    [InlineData("lfsr", null)]
    [InlineData("mt", "expected tausworthe")]
    public void RandomGenerator_TauswortheAndLfsrAccepted_OthersRefused(string value, string? error)
    {
        if (error is null)
        {
            JobOptions.Apply(new JobSpec(), "random_generator", value);
            return;
        }

        var e = Assert.Throws<JobOptionException>(() => JobOptions.Apply(new JobSpec(), "random_generator", value));
        Assert.Contains(error, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_WithVariableBlockSizes_IsRefused()
    {
        var job = new JobSpec();
        JobOptions.Apply(job, "rw", "randwrite");
        JobOptions.Apply(job, "bssplit", "4k/50:8k/50");
        JobOptions.Apply(job, "verify", "crc64");
        Assert.Contains("fixed block size", job.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void Pacer_Linear_SpacesRequestsEvenlyByRateAndRateIops()
    {
        long f = System.Diagnostics.Stopwatch.Frequency;
        var iops = new Pacer(new RateLimits { Iops = [100, 0] }, () => 0.5);
        Assert.Equal(1000, iops.Due(false, 4096, 1000));
        Assert.Equal(1000 + (f / 100), iops.Due(false, 4096, 1000));
        Assert.Equal(1000 + (2 * f / 100), iops.Due(false, 4096, 1000));
        Assert.Equal(1000, iops.Due(true, 4096, 1000)); // writes are not limited

        var bytes = new Pacer(new RateLimits { Bytes = [0, 8192] }, () => 0.5);
        Assert.Equal(0, bytes.Due(true, 4096, 0));
        Assert.Equal(f / 2, bytes.Due(true, 4096, 0));
        Assert.Equal(f, bytes.Due(true, 4096, 0));
    }

    [Fact]
    public void Pacer_Ratemin_FailsACycleBelowIt()
    {
        long f = System.Diagnostics.Stopwatch.Frequency;
        var pacer = new Pacer(new RateLimits { MinBytes = [8192, 0] }, () => 0.5);
        pacer.Due(false, 4096, 0);
        Assert.Null(pacer.Issued(false, 4096, 0));
        Assert.Null(pacer.Issued(false, 4096, f / 2)); // under a second: not judged yet
        Assert.Null(pacer.Issued(false, 8192, f)); // 16 KiB in 1 s
        Assert.Contains("below ratemin=8192", pacer.Issued(false, 4096, 3 * f), StringComparison.Ordinal); // 4 KiB in 2 s
    }

    [Theory]
    [InlineData("iops:10%", new double[] { 100, 105, 95 }, true)]
    [InlineData("iops:10%", new double[] { 100, 150, 50 }, false)]
    [InlineData("iops:6", new double[] { 100, 105, 95 }, true)]
    [InlineData("iops:4", new double[] { 100, 105, 95 }, false)]
    [InlineData("iops_slope:5%", new double[] { 100, 110, 120 }, false)] // slope 10 is 9.1% of the mean 110
    [InlineData("iops_slope:10%", new double[] { 100, 110, 120 }, true)]
    [InlineData("bw_slope:1%", new double[] { 120, 110, 100 }, false)] // a falling slope counts by its size
    [InlineData("bw:1%", new double[] { 1000, 1001, 999 }, true)]
    public void SteadyState_Criteria_AsFioDefinesThem(string spec, double[] window, bool met)
        => Assert.Equal(met, SteadyStateCriterion.Parse(spec).IsMet(window));

    [Theory]
    [InlineData("lat:5%")]
    [InlineData("iops:x")]
    public void SteadyState_Bad_IsRefused(string spec)
        => Assert.Throws<JobOptionException>(() => SteadyStateCriterion.Parse(spec));
}
