using System.Text.Json;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

/// <summary>
/// Buffers that cannot fit are refused before anything runs (issue 13: bs=128m iodepth=256 printed
/// "Out of memory." and aborted with 134; in JSON mode stdout stayed empty). A real process, so a
/// regression aborts kaio, not the test host.
/// </summary>
public class MemoryBudgetTests
{
    private static readonly string[] s_huge = ["bench", "--bs=1g", "--iodepth=65536", "--filename=/dev/zero", "--size=1g", "--rw=read"];

    [Fact]
    public void Bench_BuffersLargerThanMemory_OneLineRefusalExit1()
    {
        using KaioProcess kaio = KaioProcess.Start(s_huge);
        KaioCli.Result result = kaio.WaitForExit(TimeSpan.FromSeconds(20));
        Assert.True(result.Exit == 1, result.ToString());
        string error = Assert.Single(result.Err.TrimEnd().Split('\n'));
        Assert.Matches(@"^kaio: cannot allocate memory: command line: bs=1GiB x iodepth=65536 x numjobs=1 needs 64 TiB for buffers, [0-9.]+ [KMGT]iB available$", error);
    }

    [Fact]
    public void Bench_BuffersLargerThanMemoryInJson_OneDocumentWithTheError()
    {
        using KaioProcess kaio = KaioProcess.Start([.. s_huge, "--output-format=json"]);
        KaioCli.Result result = kaio.WaitForExit(TimeSpan.FromSeconds(20));
        Assert.True(result.Exit == 1, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        Assert.StartsWith("cannot allocate memory: ", doc.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
