using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kaio.Cli.Tests.Infrastructure;
using SkiaSharp;

namespace Kaio.Cli.Tests;

/// <summary>
/// Issue 13 §3 and §4: fio's per-interval logs, --status-interval without a terminal, --repeat,
/// kaio compare, and the pictures (kaio plot, --plot).
/// </summary>
public sealed partial class LogsAndPlotsTests
{
    private static readonly string s_samples = Path.Combine(AppContext.BaseDirectory, "fio-samples");

    // fio 3.33: msec, value, direction, bs, [offset (log_offset),] priority (1: real-time class, else 0).
    [GeneratedRegex(@"^\d+, \d+, [01], \d+, (\d+, )?[01]$")]
    private static partial Regex FioLogLine();

    private static JsonElement Json(KaioCli.Result result)
    {
        Assert.True(result.Exit == 0, result.ToString());
        return JsonDocument.Parse(result.Out).RootElement.Clone();
    }

    private static List<long[]> ReadLog(string path)
    {
        string[] lines = File.ReadAllLines(path);
        Assert.All(lines, line => Assert.Matches(FioLogLine(), line));
        return [.. lines.Select(line => line.Split(", ").Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray())];
    }

    [Fact]
    public void Logs_PerIo_OneLinePerIoInFiosFormat_BwIsBytesOverClat()
    {
        using var dir = new TempDirectory();
        string prefix = dir.File("run");
        JsonElement job = Json(KaioCli.Run("bench", "--filename=" + dir.File("f"), "--rw=randrw", "--size=256k", "--write_bw_log=" + prefix,
            "--write_lat_log=" + prefix, "--write_iops_log=" + prefix, "--log_offset=1", "--output-format=json")).GetProperty("jobs")[0];
        long reads = job.GetProperty("read").GetProperty("total_ios").GetInt64();
        long writes = job.GetProperty("write").GetProperty("total_ios").GetInt64();
        Assert.Equal(64, reads + writes);

        List<long[]> clat = ReadLog(prefix + "_clat.1.log");
        List<long[]> slat = ReadLog(prefix + "_slat.1.log");
        List<long[]> lat = ReadLog(prefix + "_lat.1.log");
        List<long[]> bw = ReadLog(prefix + "_bw.1.log");
        List<long[]> iops = ReadLog(prefix + "_iops.1.log");
        Assert.Equal(reads, clat.Count(e => e[2] == 0));
        Assert.Equal(writes, clat.Count(e => e[2] == 1));
        Assert.All(clat, e => Assert.Equal(6, e.Length));
        Assert.Contains(clat, e => e[4] != 0);
        for (int i = 0; i < clat.Count; i++)
        {
            Assert.Equal(4096, clat[i][3]);                               // bs of the I/O
            Assert.Equal(0, clat[i][4] % 4096);                           // its offset (log_offset)
            Assert.Equal(0, clat[i][5]);                                  // no priority set
            Assert.Equal(slat[i][1] + clat[i][1], lat[i][1]);             // lat = slat + clat, in ns
            Assert.Equal(4096L * 1_000_000 / Math.Max(clat[i][1], 1), bw[i][1]); // fio: bytes * 10^6 / clat ns
            Assert.Equal(1, iops[i][1]);
        }

        Assert.True(clat.Zip(clat.Skip(1)).All(p => p.First[0] <= p.Second[0]), "msec never goes back");
        Assert.Equal(clat.Sum(e => e[1]) / clat.Count, (long)(job.GetProperty("read").GetProperty("clat_ns").GetProperty("mean").GetDouble() * reads
            + job.GetProperty("write").GetProperty("clat_ns").GetProperty("mean").GetDouble() * writes) / clat.Count);
    }

    [Fact]
    public void IntervalLog_FullChunk_GoesToTheFileAndLeavesMemory()
    {
        using var dir = new TempDirectory();
        var log = new Kaio.Cli.Reporting.IntervalLog("clat", dir.File("x_clat.1.log"), flushAt: 3, logOffset: true);
        for (int i = 0; i < 7; i++)
        {
            log.Add(new Kaio.Cli.Reporting.LogEntry(i, 100 + i, i % 2, 4096, i * 4096L));
        }

        Assert.Equal(6, File.ReadAllLines(log.Path).Length); // two full chunks written
        Assert.Single(log.Entries);                            // one waiting
        log.Flush();
        Assert.Equal(Enumerable.Range(0, 7).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i}, {100 + i}, {i % 2}, 4096, {i * 4096}, 0")), File.ReadAllLines(log.Path));
    }

    /// <summary>fio 3.33's columns: without log_offset the fifth is the priority; log_prio writes the value in hex.</summary>
    [Fact]
    public void IntervalLog_Columns_OffsetOnlyWithLogOffset_PriorityAsLogPrioSays()
    {
        using var dir = new TempDirectory();
        var entry = new Kaio.Cli.Reporting.LogEntry(7, 1234, 1, 8192, 65536, 0x2003);
        (bool Offset, bool Prio, string Line)[] cases =
        [
            (false, false, "7, 1234, 1, 8192, 1"),
            (true, false, "7, 1234, 1, 8192, 65536, 1"),
            (false, true, "7, 1234, 1, 8192, 0x2003"),
            (true, true, "7, 1234, 1, 8192, 65536, 0x2003"),
        ];
        foreach (var (offset, prio, line) in cases)
        {
            var log = new Kaio.Cli.Reporting.IntervalLog("clat", dir.File($"c{offset}{prio}_clat.1.log"), logOffset: offset, logPrio: prio);
            log.Add(entry);
            log.Flush();
            Assert.Equal(line, File.ReadAllText(log.Path).TrimEnd('\n'));
        }
    }

    [Fact]
    public void Logs_Averaged_AnEntryPerWindowAndDirection_PerJobThread()
    {
        using var dir = new TempDirectory();
        string prefix = dir.File("avg");
        Json(KaioCli.Run("bench", "--filename=" + dir.File("f"), "--rw=randrw", "--size=1m", "--runtime=650ms", "--time_based", "--numjobs=2",
            "--write_bw_log=" + prefix, "--write_lat_log=" + prefix, "--write_iops_log=" + prefix, "--log_avg_msec=200", "--output-format=json"));
        foreach (int thread in new[] { 1, 2 })
        {
            // Windows end at 200, 400 and 600 ms; bw/iops skip the partial last one, latencies flush it.
            List<long[]> bw = ReadLog($"{prefix}_bw.{thread}.log");
            List<long[]> iops = ReadLog($"{prefix}_iops.{thread}.log");
            List<long[]> clat = ReadLog($"{prefix}_clat.{thread}.log");
            foreach (int direction in new[] { 0, 1 })
            {
                // 3 on an idle machine; a sampler woken late on a loaded one can miss the last window.
                Assert.InRange(bw.Count(e => e[2] == direction), 2, 3);
                Assert.Equal(bw.Count(e => e[2] == direction), iops.Count(e => e[2] == direction));
                Assert.InRange(clat.Count(e => e[2] == direction), 3, 4);
            }

            Assert.All(bw, e => Assert.InRange(e[0], 190, 700));
            Assert.All(bw.Zip(iops), p => Assert.InRange(p.First[1], (p.Second[1] * 4) - 8, (p.Second[1] * 4) + 8)); // KiB/s = IOPS x 4 KiB
        }
    }

    [Fact]
    public void StatusInterval_WithoutATerminal_PrintsALinePerInterval()
    {
        using var dir = new TempDirectory();
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("s"), "--rw=randread", "--size=1m", "--runtime=750ms", "--time_based", "--status-interval=200ms");
        Assert.True(result.Exit == 0, result.ToString());
        string[] lines = [.. result.Out.Split('\n').Where(l => l.StartsWith("status ", StringComparison.Ordinal))];
        Assert.InRange(lines.Length, 3, 4);
        Assert.All(lines, l => Assert.Matches(@"^status \d+\.\ds bench: read: IOPS=\d+ BW=\d+KiB/s ios=\d+", l));

        // In JSON mode the lines go to stderr; stdout stays one document.
        result = KaioCli.Run("bench", "--filename=" + dir.File("s"), "--rw=randread", "--size=1m", "--runtime=450ms", "--time_based", "--status-interval=200ms", "--output-format=json");
        Json(result);
        Assert.Contains("status ", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Repeat_RunsNTimes_MeanSigmaAndRangeOfEachFigure()
    {
        using var dir = new TempDirectory();
        JsonElement root = Json(KaioCli.Run("bench", "--filename=" + dir.File("r"), "--rw=randread", "--size=1m", "--runtime=150ms", "--time_based", "--repeat=3", "--output-format=json"));
        JsonElement[] rows = [.. root.GetProperty("repeat").EnumerateArray()];
        Assert.Equal(["IOPS", "MiB/s", "clat p50 µs", "clat p99 µs", "lat mean µs"], rows.Select(r => r.GetProperty("figure").GetString()));
        foreach (JsonElement row in rows)
        {
            double[] values = [.. row.GetProperty("values").EnumerateArray().Select(v => v.GetDouble())];
            Assert.Equal(3, values.Length);
            Assert.Equal(3, row.GetProperty("runs").GetInt32());
            double mean = values.Average();
            double sigma = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / 2);
            Assert.Equal(mean, row.GetProperty("mean").GetDouble(), tolerance: 2e-6); // six decimals, as written
            Assert.Equal(sigma, row.GetProperty("stddev").GetDouble(), tolerance: 2e-6); // six decimals, as written
            Assert.Equal(values.Min(), row.GetProperty("min").GetDouble(), tolerance: 2e-6); // six decimals, as written
            Assert.Equal(values.Max(), row.GetProperty("max").GetDouble(), tolerance: 2e-6); // six decimals, as written
        }

        Assert.True(rows[0].GetProperty("min").GetDouble() > 0);

        KaioCli.Result normal = KaioCli.Run("bench", "--filename=" + dir.File("r"), "--rw=randread", "--size=1m", "--runtime=100ms", "--time_based", "--repeat=2");
        Assert.True(normal.Exit == 0, normal.ToString());
        Assert.Contains("2 runs", normal.Out, StringComparison.Ordinal);
        Assert.Contains("± σ", normal.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Compare_TwoSavedReports_PrintsTheRatioOfTheSecondToTheFirst()
    {
        using var dir = new TempDirectory();
        static string Report(double iops, long p99) => string.Create(CultureInfo.InvariantCulture,
            $"{{\"fio version\": \"x\", \"jobs\": [{{\"jobname\": \"j\", \"read\": {{\"total_ios\": 10, \"iops\": {iops}, \"bw\": {iops * 4}, ")
            + string.Create(CultureInfo.InvariantCulture, $"\"clat_ns\": {{\"mean\": 1000, \"percentile\": {{\"50.000000\": 800, \"99.000000\": {p99}}}}}, \"lat_ns\": {{\"mean\": 1200}}}}}}]}}");
        string a = dir.WriteJobFile("a.json", Report(100, 2000));
        string b = dir.WriteJobFile("b.json", Report(250, 1000));
        KaioCli.Result result = KaioCli.Run("compare", a, b);
        Assert.True(result.Exit == 0, result.ToString());
        string iopsLine = result.Out.Split('\n').Single(l => l.Contains(" IOPS ", StringComparison.Ordinal));
        Assert.Contains("2.50x", iopsLine, StringComparison.Ordinal);
        string p99Line = result.Out.Split('\n').Single(l => l.Contains("clat p99 ", StringComparison.Ordinal));
        Assert.Contains("0.50x", p99Line, StringComparison.Ordinal);

        // fio's own report compares with itself as 1.00x.
        string fio = Path.Combine(s_samples, "randread.json");
        result = KaioCli.Run("compare", fio, fio);
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("1.00x", result.Out.Split('\n').Single(l => l.Contains(" IOPS ", StringComparison.Ordinal)), StringComparison.Ordinal);

        result = KaioCli.Run("compare", a, dir.File("missing.json"));
        Assert.Equal(KaioApp.ExitUsage, result.Exit);
        Assert.Contains("missing.json", result.Err, StringComparison.Ordinal);
    }

    /// <summary>A PNG of the expected size with a drawing on it: several colours, a fair share of non-background pixels.</summary>
    /// <summary>Issue 13's "Done when": the README shows a plot from a real run — each picture it links is in the tree and is a chart, not a blank or missing file.</summary>
    [Fact]
    public void Readme_ShowsAPlot_EachPictureItLinksIsAChart()
    {
        string? root = AppContext.BaseDirectory;
        while (root is not null && !File.Exists(Path.Combine(root, "Kaio.slnx")))
        {
            root = Path.GetDirectoryName(root);
        }

        Assert.True(root is not null, "the test runs outside the source tree (no Kaio.slnx above " + AppContext.BaseDirectory + ")");
        string readme = Path.Combine(root, "src", "Kaio.Cli", "README.md");
        string[] pictures = [.. Regex.Matches(File.ReadAllText(readme), @"!\[[^\]]*\]\(([^)]+\.png)\)").Select(m => m.Groups[1].Value)];
        Assert.NotEmpty(pictures);
        foreach (string picture in pictures)
        {
            AssertPicture(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(readme)!, picture)));
        }
    }

    private static void AssertPicture(string path)
    {
        Assert.True(File.Exists(path), path);
        using SKBitmap bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal((900, 540), (bitmap.Width, bitmap.Height));
        var colours = new HashSet<uint>();
        long drawn = 0;
        SKColor background = bitmap.GetPixel(0, 0);
        for (int y = 0; y < bitmap.Height; y += 2)
        {
            for (int x = 0; x < bitmap.Width; x += 2)
            {
                SKColor c = bitmap.GetPixel(x, y);
                colours.Add((uint)c);
                if (c != background)
                {
                    drawn++;
                }
            }
        }

        Assert.True(colours.Count > 10, $"{path}: {colours.Count} colours");
        Assert.True(drawn > bitmap.Width * bitmap.Height / 4 / 50, $"{path}: {drawn} drawn pixels of {bitmap.Width * bitmap.Height / 4}");
    }

    [Fact]
    public void Plot_LineNames_ACompareReportsJobsByEngine()
    {
        string[] compare = ["bench@randomaccess", "bench@io_uring", "bench@io_uring:await"];
        Assert.Equal(["randomaccess", "io_uring", "io_uring:await"], compare.Select(j => Kaio.Cli.Reporting.Plots.LineName(compare, j)));
        string[] jobs = ["seq@1", "rand@2"];
        Assert.Equal(jobs, jobs.Select(j => Kaio.Cli.Reporting.Plots.LineName(jobs, j)));
        string[] one = ["bench@io_uring"];
        Assert.Equal("bench@io_uring", Kaio.Cli.Reporting.Plots.LineName(one, "bench@io_uring"));
    }

    [Fact]
    public void Plot_BenchRun_WritesIopsBandwidthAndLatencyPictures()
    {
        using var dir = new TempDirectory();
        string pictures = dir.File("pics");
        KaioCli.Result result = KaioCli.Run("bench", "--filename=" + dir.File("p"), "--rw=randrw", "--size=1m", "--runtime=1100ms", "--time_based", "--plot=" + pictures);
        Assert.True(result.Exit == 0, result.ToString());
        foreach (string name in new[] { "iops.png", "bw.png", "latency.png" })
        {
            AssertPicture(Path.Combine(pictures, name));
            Assert.Contains(Path.Combine(pictures, name), result.Out, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Plot_SavedReportsAndLogs_LatencyCurvesSideBySideAndRatesOverTime()
    {
        using var dir = new TempDirectory();
        string prefix = dir.File("l");
        Json(KaioCli.Run("bench", "--filename=" + dir.File("f"), "--rw=randread", "--size=1m", "--runtime=500ms", "--time_based",
            "--write_bw_log=" + prefix, "--write_iops_log=" + prefix, "--log_avg_msec=100", "--output-format=json"));
        string pictures = dir.File("out");
        KaioCli.Result result = KaioCli.Run("plot", Path.Combine(s_samples, "randread.json"), Path.Combine(s_samples, "randread-plus.json"),
            prefix + "_bw.1.log", prefix + "_iops.1.log", "-o", pictures);
        Assert.True(result.Exit == 0, result.ToString());
        foreach (string name in new[] { "latency.png", "iops.png", "bw.png" })
        {
            AssertPicture(Path.Combine(pictures, name));
        }

        string aFile = dir.WriteJobFile("plain", "x");
        result = KaioCli.Run("plot", Path.Combine(s_samples, "randread.json"), "-o", Path.Combine(aFile, "pics"));
        Assert.Equal(KaioApp.ExitFailed, result.Exit);
        Assert.Contains("cannot write the pictures", result.Err, StringComparison.Ordinal);

        result = KaioCli.Run("plot", dir.File("nothing.log"), "-o", pictures);
        Assert.Equal(KaioApp.ExitUsage, result.Exit);
        Assert.Contains("nothing.log", result.Err, StringComparison.Ordinal);
    }
}
