// Design: one job for every benchmark class: a few warm-up and measured iterations in one process
// (BenchmarkDotNet's ShortRun: 1 launch, 3 warm-ups, 3 iterations), allocation per operation from
// MemoryDiagnoser, and ns/op and bytes/op columns. The machine these numbers come from is shared
// and has two cores, so a run's ratios mean more than its absolute times.
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace Kaio.Benchmarks;

/// <summary>The short job and diagnosers every Kaio benchmark runs with.</summary>
public sealed class BenchConfig : ManualConfig
{
    /// <summary>Creates the configuration: ShortRun, MemoryDiagnoser, median and ratio columns.</summary>
    public BenchConfig()
    {
        AddJob(Job.ShortRun);
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.Median);
        AddColumn(BaselineRatioColumn.RatioMean);
    }
}
