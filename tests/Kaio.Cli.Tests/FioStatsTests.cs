using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kaio.Cli.Reporting;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

/// <summary>
/// Issue 13 §3: the figures fio reports beyond the basics — interval samples, submit and
/// complete call sizes, percentile options, json+ bins, disk_util, global options — with fio's
/// key set and float formatting, checked against fio 3.33's own JSON for the same job
/// (fio-samples/randread.fio; the samples were made with `fio randread.fio --output-format=json`
/// and `json+` on this project's build machine).
/// </summary>
public sealed class FioStatsTests
{
    private static readonly string s_samples = Path.Combine(AppContext.BaseDirectory, "fio-samples");

    private static JsonElement Json(KaioCli.Result result)
    {
        Assert.True(result.Exit == 0, result.ToString());
        return JsonDocument.Parse(result.Out).RootElement.Clone();
    }

    private static KaioCli.Result RunSampleJob(TempDirectory dir, string format)
    {
        string job = File.ReadAllText(Path.Combine(s_samples, "randread.fio")).Replace("/tmp/i13a/sample.dat", dir.File("sample.dat"), StringComparison.Ordinal);
        return KaioCli.Run("bench", dir.WriteJobFile("randread.fio", job), "--output-format=" + format);
    }

    [Fact]
    public void JsonPlus_SameJobAsFio_HasEveryKeyFioWritesWithFiosNumberFormats()
    {
        using var dir = new TempDirectory();
        JsonElement kaio = Json(RunSampleJob(dir, "json+"));
        foreach (string sample in new[] { "randread.json", "randread-plus.json" })
        {
            JsonElement fio = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_samples, sample))).RootElement;
            var problems = new List<string>();
            CompareShapes(fio, kaio, "", problems);
            Assert.True(problems.Count == 0, sample + ":\n" + string.Join("\n", problems));
        }

        // [global]'s options, as fio lists them (kaio lists the bare time_based flag too, as "1").
        JsonElement global = kaio.GetProperty("global options");
        Assert.Equal("16m", global.GetProperty("size").GetString());
        Assert.Equal("1", global.GetProperty("runtime").GetString());
        Assert.False(kaio.GetProperty("jobs")[0].GetProperty("job options").TryGetProperty("size", out _)); // the job's own options only

        // json+ bins: every I/O in exactly one of fio's buckets, keyed by the bucket's middle value.
        JsonElement clat = kaio.GetProperty("jobs")[0].GetProperty("read").GetProperty("clat_ns");
        long binned = 0;
        foreach (JsonProperty bin in clat.GetProperty("bins").EnumerateObject())
        {
            long value = long.Parse(bin.Name, CultureInfo.InvariantCulture);
            Assert.Equal(value, FioPlat.BucketValue(FioPlat.BucketIndex(value)));
            binned += bin.Value.GetInt64();
        }

        Assert.Equal(clat.GetProperty("N").GetInt64(), binned);
    }

    /// <summary>
    /// The same check for a mixed job with writes and syncs (fio-samples/randrw.fio: randrw 70/30,
    /// fdatasync=8, lat_percentiles), so the write direction, sync and lat percentiles carry values.
    /// </summary>
    [Fact]
    public void JsonPlus_MixedJobWithSyncsAsFio_HasEveryKeyFioWritesWithFiosNumberFormats()
    {
        using var dir = new TempDirectory();
        string job = File.ReadAllText(Path.Combine(s_samples, "randrw.fio")).Replace("/tmp/i13a/sample-rw.dat", dir.File("sample-rw.dat"), StringComparison.Ordinal);
        JsonElement kaio = Json(KaioCli.Run("bench", dir.WriteJobFile("randrw.fio", job), "--output-format=json+"));
        foreach (string sample in new[] { "randrw.json", "randrw-plus.json" })
        {
            JsonElement fio = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_samples, sample))).RootElement;
            var problems = new List<string>();
            CompareShapes(fio, kaio, "", problems);
            Assert.True(problems.Count == 0, sample + ":\n" + string.Join("\n", problems));
        }

        JsonElement first = kaio.GetProperty("jobs")[0];
        Assert.True(first.GetProperty("write").GetProperty("total_ios").GetInt64() > 0);
        Assert.True(first.GetProperty("sync").GetProperty("lat_ns").GetProperty("N").GetInt64() > 0);
        Assert.True(first.GetProperty("write").GetProperty("lat_ns").GetProperty("percentile").EnumerateObject().Any());
    }

    /// <summary>
    /// Every key of fio's document is in kaio's (the contents of percentile and bins are
    /// values, compared elsewhere); a number fio writes as a float (six decimals) kaio writes
    /// the same way, an integer as an integer.
    /// </summary>
    private static void CompareShapes(JsonElement fio, JsonElement kaio, string path, List<string> problems)
    {
        switch (fio.ValueKind)
        {
            case JsonValueKind.Object:
                if (kaio.ValueKind != JsonValueKind.Object)
                {
                    problems.Add($"{path}: fio has an object, kaio {kaio.ValueKind}");
                    return;
                }

                if (path.EndsWith("/percentile", StringComparison.Ordinal) || path.EndsWith("/bins", StringComparison.Ordinal) || path.EndsWith("/job options", StringComparison.Ordinal))
                {
                    return;
                }

                foreach (JsonProperty property in fio.EnumerateObject())
                {
                    if (!kaio.TryGetProperty(property.Name, out JsonElement mine))
                    {
                        problems.Add($"{path}/{property.Name}: missing");
                        continue;
                    }

                    CompareShapes(property.Value, mine, path + "/" + property.Name, problems);
                }

                break;
            case JsonValueKind.Array:
                if (kaio.ValueKind != JsonValueKind.Array)
                {
                    problems.Add($"{path}: fio has an array, kaio {kaio.ValueKind}");
                }
                else if (fio.GetArrayLength() > 0 && kaio.GetArrayLength() > 0)
                {
                    CompareShapes(fio[0], kaio[0], path + "[0]", problems);
                }
                else if (fio.GetArrayLength() > 0 && path != "/disk_util")
                {
                    problems.Add($"{path}: empty in kaio");
                }

                break;
            case JsonValueKind.Number:
                bool fioFloat = fio.GetRawText().Contains('.', StringComparison.Ordinal);
                string raw = kaio.GetRawText();
                if (kaio.ValueKind != JsonValueKind.Number)
                {
                    problems.Add($"{path}: fio has a number, kaio {kaio.ValueKind}");
                }
                else if (fioFloat && !Regex.IsMatch(raw, @"^-?\d+\.\d{6}$"))
                {
                    problems.Add($"{path}: fio writes a float with six decimals ({fio.GetRawText()}), kaio {raw}");
                }
                else if (!fioFloat && raw.Contains('.', StringComparison.Ordinal))
                {
                    problems.Add($"{path}: fio writes an integer ({fio.GetRawText()}), kaio {raw}");
                }

                break;
            default:
                if (fio.ValueKind != kaio.ValueKind && !(fio.ValueKind is JsonValueKind.True or JsonValueKind.False && kaio.ValueKind is JsonValueKind.True or JsonValueKind.False))
                {
                    problems.Add($"{path}: fio has {fio.ValueKind}, kaio {kaio.ValueKind}");
                }

                break;
        }
    }

    [Fact]
    public void Json_BwAndIopsSamples_AreHalfSecondIntervalsOfTheRun()
    {
        using var dir = new TempDirectory();
        JsonElement job = Json(KaioCli.Run("bench", "--filename=" + dir.File("s"), "--rw=randread", "--size=4m", "--runtime=1300ms", "--time_based", "--output-format=json")).GetProperty("jobs")[0];
        JsonElement read = job.GetProperty("read");

        // 500 ms intervals over 1.3 s: two samples (a partial last interval gives none, as in fio).
        Assert.Equal(2, read.GetProperty("bw_samples").GetInt64());
        Assert.Equal(2, read.GetProperty("iops_samples").GetInt64());
        double bwMean = read.GetProperty("bw_mean").GetDouble();
        double iopsMean = read.GetProperty("iops_mean").GetDouble();
        Assert.InRange(bwMean, read.GetProperty("bw_min").GetInt64(), read.GetProperty("bw_max").GetInt64());
        Assert.InRange(iopsMean, read.GetProperty("iops_min").GetInt64(), read.GetProperty("iops_max").GetInt64());

        // Both from the same intervals: KiB/s = IOPS x 4 KiB (to the integer truncation of each sample).
        Assert.InRange(bwMean, (iopsMean * 4) - 4, (iopsMean * 4) + 4);

        // The samples are of the same I/O the totals count: their mean is near the run's IOPS.
        Assert.InRange(iopsMean, read.GetProperty("iops").GetDouble() * 0.5, read.GetProperty("iops").GetDouble() * 2);
        Assert.InRange(read.GetProperty("bw_agg").GetDouble(), 1, 100);
        Assert.Equal(0, job.GetProperty("write").GetProperty("bw_samples").GetInt64());
    }

    [Fact]
    public void Normal_SampledRun_PrintsFiosBwAndIopsSampleLine()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("n"), "--rw=randread", "--size=4m", "--runtime=1100ms", "--time_based");
        Assert.True(result.Exit == 0, result.ToString());
        // Two 500 ms samples in 1.1 s; under a CPU hog the sampler thread can miss the second by
        // more than the 100 ms left, so one is allowed — both lines count the same samples.
        Match line = Regex.Match(result.Out, @"bench read: bw \(KiB/s\): min=\d+, max=\d+, per=\d+\.\d\d%, avg=\d+\.\d\d, stdev=\d+\.\d\d, samples=(?<bw>[12])\s+bench read: iops: +min=\d+, max=\d+, avg=\d+\.\d\d, stdev=\d+\.\d\d, samples=(?<iops>[12])");
        Assert.True(line.Success, result.ToString());
        Assert.Equal(line.Groups["bw"].Value, line.Groups["iops"].Value);
        Assert.DoesNotContain("bench write: bw", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_LatIsSlatPlusClat_AndSubmitCallsCarryIodepthBatchSubmit()
    {
        using var dir = new TempDirectory();
        JsonElement job = Json(KaioCli.Run("bench", "--filename=" + dir.File("l"), "--rw=randread", "--size=4m", "--runtime=300ms", "--time_based",
            "--ioengine=io_uring", "--iodepth=16", "--iodepth_batch_submit=4", "--output-format=json")).GetProperty("jobs")[0];
        JsonElement read = job.GetProperty("read");
        double slat = read.GetProperty("slat_ns").GetProperty("mean").GetDouble();
        double clat = read.GetProperty("clat_ns").GetProperty("mean").GetDouble();
        double lat = read.GetProperty("lat_ns").GetProperty("mean").GetDouble();
        Assert.True(slat > 0, read.ToString());
        Assert.InRange(lat, slat + clat - 1, slat + clat + 1);

        // Every submit call carried 1 to 4 requests: fio's "4" bucket holds them all.
        JsonElement submit = job.GetProperty("iodepth_submit");
        Assert.Equal(["0", "4", "8", "16", "32", "64", ">=64"], submit.EnumerateObject().Select(p => p.Name));
        Assert.Equal(100.0, submit.GetProperty("4").GetDouble());
        JsonElement complete = job.GetProperty("iodepth_complete");
        Assert.InRange(complete.EnumerateObject().Sum(p => p.Value.GetDouble()), 99.9, 100.1);
        Assert.Equal(0, complete.GetProperty("32").GetDouble()); // never more than iodepth 16 at once
    }

    [Fact]
    public void Slat_BatchOfOne_HoldsOnlyItsOwnSubmitCall()
    {
        // io_uring reading the page cache completes each read inside io_uring_enter, so a submit
        // call's time grows with the requests it carries. One request per call: each request's
        // slat is one short call. Before each batch was prepared just before its call, a request
        // prepared with 31 others waited for their calls too (slat ~ 16 calls on average), about
        // what one call of all 32 takes. Every completion is reaped at once (complete max 32), so
        // every slot is free again when the next batch is prepared.
        AioEngineStatus status = AioContext.ProbeEngines().Single(s => s.Kind == AioEngineKind.IoUring);
        if (!status.Available)
        {
            Assert.Skip("io_uring does not work here: " + status.Reason);
        }

        using var dir = new TempDirectory();
        double Slat(string batch) => Json(KaioCli.Run("bench", "--filename=" + dir.File("s"), "--rw=randread", "--size=4m", "--runtime=300ms", "--time_based",
            "--ioengine=io_uring", "--iodepth=32", "--iodepth_batch_complete_max=32", "--iodepth_batch_submit=" + batch, "--output-format=json")).GetProperty("jobs")[0].GetProperty("read").GetProperty("slat_ns").GetProperty("mean").GetDouble();
        double whole = Slat("0");
        double one = Slat("1");
        Assert.True(one * 4 < whole, $"slat mean: {one:0} ns with one request per call, {whole:0} ns with 32 per call");
    }

    [Fact]
    public void Json_WholeBatchSubmit_FillsTheLargerSubmitBuckets()
    {
        using var dir = new TempDirectory();
        JsonElement job = Json(KaioCli.Run("bench", "--filename=" + dir.File("b"), "--rw=randread", "--size=4m", "--runtime=300ms", "--time_based",
            "--ioengine=null", "--iodepth=32", "--iodepth_batch_submit=0", "--output-format=json")).GetProperty("jobs")[0];
        JsonElement submit = job.GetProperty("iodepth_submit");
        Assert.True(submit.GetProperty("4").GetDouble() < 100, submit.ToString());
        Assert.InRange(submit.EnumerateObject().Sum(p => p.Value.GetDouble()), 99.9, 100.1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Json_DefaultBatchSubmit_IsFiosOneRequestPerCall(bool namedJob)
    {
        // fio's iodepth_batch_submit defaults to 1: each request goes to the kernel as soon as it
        // is prepared. (Submitting every free slot in one call put 32 O_DIRECT reads through the
        // block layer in one io_uring_enter: ~110 µs of slat, and the device idled meanwhile.)
        using var dir = new TempDirectory();
        string[] job = namedJob ? ["--name=j", "--rw=randread", "--iodepth=32", "--time_based"] : [];
        string[] args = ["bench", "--filename=" + dir.File("b"), "--size=4m", "--ioengine=null", "--runtime=300ms", "--output-format=json", .. job];

        JsonElement submit = Json(KaioCli.Run(args)).GetProperty("jobs")[0].GetProperty("iodepth_submit");
        Assert.Equal(100, submit.GetProperty("4").GetDouble(), 1);
        Assert.Equal(0, submit.GetProperty("8").GetDouble(), 1);
    }

    [Fact]
    public void Json_PercentileOptions_ChooseWhichLatenciesAndWhichPercentiles()
    {
        using var dir = new TempDirectory();
        JsonElement read = Json(KaioCli.Run("bench", "--filename=" + dir.File("p"), "--rw=randread", "--size=1m", "--lat_percentiles=1",
            "--percentile_list=50:99.9:10", "--output-format=json")).GetProperty("jobs")[0].GetProperty("read");
        foreach (string latency in new[] { "clat_ns", "lat_ns" })
        {
            Assert.Equal(["10.000000", "50.000000", "99.900000"], read.GetProperty(latency).GetProperty("percentile").EnumerateObject().Select(p => p.Name));
        }

        Assert.False(read.GetProperty("slat_ns").TryGetProperty("percentile", out _));

        read = Json(KaioCli.Run("bench", "--filename=" + dir.File("p"), "--rw=randread", "--size=1m", "--clat_percentiles=0", "--output-format=json")).GetProperty("jobs")[0].GetProperty("read");
        Assert.False(read.GetProperty("clat_ns").TryGetProperty("percentile", out _));
        Assert.False(read.GetProperty("lat_ns").TryGetProperty("percentile", out _));
    }

    [Fact]
    public void Bench_PercentileList_RefusesWhatIsNotAPercentile()
    {
        KaioCli.Result result = KaioCli.Run("bench", "--size=1m", "--percentile_list=50:abc");
        Assert.Equal(KaioApp.ExitUsage, result.Exit);
        Assert.Contains("percentile_list=50:abc", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void DiskUtil_FileOnADisk_NamesItsDeviceFromDiskstats()
    {
        using var dir = new TempDirectory();
        string? device = DiskUtil.DeviceOf(dir.File("d"));
        if (device is null)
        {
            Assert.Skip("the temp directory is on a file system without a block device");
        }

        Assert.Contains(File.ReadLines("/proc/diskstats"), line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2] == device);
        JsonElement disks = Json(KaioCli.Run("bench", "--filename=" + dir.File("d"), "--rw=write", "--size=1m", "--direct=1", "--output-format=json")).GetProperty("disk_util");
        JsonElement disk = Assert.Single(disks.EnumerateArray());
        Assert.Equal(device, disk.GetProperty("name").GetString());
        Assert.True(disk.GetProperty("write_ios").GetInt64() > 0, disk.ToString()); // 256 direct writes reached it
        Assert.InRange(disk.GetProperty("util").GetDouble(), 0, 100);
    }

    [Fact]
    public void FioPlat_BucketsAsFio_EveryBinOfFiosSampleIsABucketMiddle()
    {
        JsonElement fio = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_samples, "randread-plus.json"))).RootElement;
        JsonElement bins = fio.GetProperty("jobs")[0].GetProperty("read").GetProperty("clat_ns").GetProperty("bins");
        foreach (JsonProperty bin in bins.EnumerateObject())
        {
            long value = long.Parse(bin.Name, CultureInfo.InvariantCulture);
            Assert.Equal(value, FioPlat.BucketValue(FioPlat.BucketIndex(value)));
        }

        Assert.Equal(127, FioPlat.BucketIndex(127));       // one bucket per value below 128
        Assert.Equal(451, FioPlat.BucketIndex(4300));      // 4096..4159 is bucket 448; 64 per power of two
        Assert.Equal(4320, FioPlat.BucketValue(451));
        Assert.Equal(29 * 64 - 1, FioPlat.BucketIndex(long.MaxValue));
    }
}
