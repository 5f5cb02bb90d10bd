// Design: the entry point of Kaio's micro-benchmarks. BenchmarkSwitcher takes BenchmarkDotNet's
// own arguments (--filter '*Null*', --list flat, --job dry, ...); with none it asks which to run.
// Every class carries BenchConfig (a short job and MemoryDiagnoser), so a full run takes minutes.
using BenchmarkDotNet.Running;

namespace Kaio.Benchmarks;

internal static class Program
{
    private static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
