// Design: the cost of Kaio's own machinery per request, with the null engine (it completes every
// request at once, as fio's null engine does): slot and tag, budget, ring, delivery. Batches of 32
// through Submit + GetEvents (the libaio way) for Pread and Noop, and ReadAsync awaited one at a
// time (the .NET way). Each batch method counts 32 operations, so ns/op and bytes/op are per
// request. The target (issue 3) is at most 100 ns and 0 bytes per operation.
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;

namespace Kaio.Benchmarks;

/// <summary>Per-request cost of the Kaio core on the null engine.</summary>
[Config(typeof(BenchConfig))]
public class NullEngineBenchmarks : IDisposable
{
    private const int Batch = 32;

    private readonly Iocb[] _reads = new Iocb[Batch];
    private readonly Iocb[] _noops = new Iocb[Batch];
    private readonly IoEvent[] _events = new IoEvent[Batch];
    private readonly byte[] _buffer = new byte[BenchFile.BlockSize];
    private BenchFile? _file;
    private AioContext? _context;

    /// <summary>Sets up a null-engine context and the iocbs of one batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _file = new BenchFile();
        _context = AioContext.Setup(256, new AioContextOptions { Engine = AioEngineKind.Null });
        for (int i = 0; i < Batch; i++)
        {
            _reads[i] = Iocb.PrepPread(_file.Handle, _buffer, (long)i * BenchFile.BlockSize, data: (ulong)i);
            _noops[i] = Iocb.PrepNoop(data: (ulong)i);
        }
    }

    /// <summary>32 Pread requests in one Submit, reaped by one GetEvents.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int SubmitGetEventsPread() => SubmitAndReap(_reads);

    /// <summary>32 Noop requests in one Submit, reaped by one GetEvents.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int SubmitGetEventsNoop() => SubmitAndReap(_noops);

    /// <summary>32 ReadAsync calls, each awaited before the next.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReadAsyncAwaited()
    {
        AioContext context = _context!;
        SafeFileHandle handle = _file!.Handle;
        int total = 0;
        for (int i = 0; i < Batch; i++)
        {
            total += await context.ReadAsync(handle, _buffer, (long)i * BenchFile.BlockSize).ConfigureAwait(false);
        }

        return total;
    }

    /// <summary>Disposes the context and removes the file.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _context?.Dispose();
        _context = null;
        _file?.Dispose();
        _file = null;
        GC.SuppressFinalize(this);
    }

    private int SubmitAndReap(Iocb[] iocbs)
    {
        AioContext context = _context!;
        int submitted = context.Submit(iocbs);
        int reaped = 0;
        while (reaped < submitted)
        {
            reaped += context.GetEvents(submitted - reaped, _events.AsSpan(reaped), timeout: null);
        }

        return reaped;
    }
}
