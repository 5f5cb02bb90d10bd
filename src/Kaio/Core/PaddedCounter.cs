// Design: a counter alone on its cache line(s), for per-core striping. 128 bytes so that the
// adjacent-line prefetcher does not pull a neighbour's counter in with ours.
using System.Runtime.InteropServices;

namespace Kaio.Core;

[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedCounter
{
    [FieldOffset(64)]
    public long Value;
}

internal static class Cores
{
    /// <summary>The stripe count used by per-core structures: the processor count, at least 1.</summary>
    internal static int Count { get; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>The stripe of the calling thread (the runtime caches the processor id cheaply).</summary>
    internal static int Current(int stripes) => (int)((uint)Thread.GetCurrentProcessorId() % (uint)stripes);
}
