// Design: the awaitable face under concurrency, as most .NET storage code will use it: Tasks
// concurrent loops, each awaiting one 4 KiB ReadAsync of a random page-cached block at a time,
// against .NET's own RandomAccess.ReadAsync doing the same. One invocation is ReadsPerTask reads
// shared by the loops; ns/op is wall time per read (1 / throughput). The context is sized for every loop (no EAGAIN), and each loop
// owns its buffer and its offset sequence (no shared state between loops but the context).
using BenchmarkDotNet.Attributes;

namespace Kaio.Benchmarks;

/// <summary>1, 8 and 32 concurrent awaited read loops: Kaio's engines against RandomAccess.</summary>
[Config(typeof(BenchConfig))]
public class ConcurrentAwaitBenchmarks : IDisposable
{
    private const int ReadsPerTask = 256; // a multiple of every Tasks value
    private const long Blocks = (64L << 20) / BenchFile.BlockSize;

    private readonly Task[] _loops = new Task[32];
    private readonly byte[][] _buffers = new byte[32][];
    private BenchFile? _file;
    private AioContext? _context;

    /// <summary>Creates one buffer per loop.</summary>
    public ConcurrentAwaitBenchmarks()
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            _buffers[i] = new byte[BenchFile.BlockSize];
        }
    }

    /// <summary>How many loops await reads at once.</summary>
    [Params(1, 8, 32)]
    public int Tasks { get; set; }

    /// <summary>The baseline's setup: the file only.</summary>
    [GlobalSetup(Target = nameof(RandomAccessReads))]
    public void SetupRandomAccess() => _file = new BenchFile();

    /// <summary>The io_uring engine's setup.</summary>
    [GlobalSetup(Target = nameof(IoUringReads))]
    public void SetupIoUring() => Setup(AioEngineKind.IoUring);

    /// <summary>The thread-pool engine's setup.</summary>
    [GlobalSetup(Target = nameof(ThreadPoolReads))]
    public void SetupThreadPool() => Setup(AioEngineKind.ThreadPool);

    /// <summary>.NET RandomAccess.ReadAsync in every loop.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = ReadsPerTask)]
    public Task RandomAccessReads() => RunLoops(useKaio: false);

    /// <summary>io_uring: AioContext.ReadAsync in every loop.</summary>
    [Benchmark(OperationsPerInvoke = ReadsPerTask)]
    public Task IoUringReads() => RunLoops(useKaio: true);

    /// <summary>Thread pool: AioContext.ReadAsync in every loop.</summary>
    [Benchmark(OperationsPerInvoke = ReadsPerTask)]
    public Task ThreadPoolReads() => RunLoops(useKaio: true);

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

    private void Setup(AioEngineKind engine)
    {
        _file = new BenchFile();
        _context = AioContext.Setup(64, new AioContextOptions { Engine = engine });
    }

    private Task RunLoops(bool useKaio)
    {
        // An invocation is ReadsPerTask reads in all, shared by the loops, so ns/op is wall time
        // per read: the inverse of throughput at this concurrency.
        int perLoop = ReadsPerTask / Tasks;
        for (int t = 0; t < Tasks; t++)
        {
            _loops[t] = useKaio ? KaioLoop(_buffers[t], (uint)(t + 1), perLoop) : RandomAccessLoop(_buffers[t], (uint)(t + 1), perLoop);
        }

        return Task.WhenAll(_loops.AsSpan(0, Tasks));
    }

    private async Task KaioLoop(byte[] buffer, uint seed, int reads)
    {
        AioContext context = _context!;
        SafeFileHandle handle = _file!.Handle;
        for (int i = 0; i < reads; i++)
        {
            seed = Next(seed);
            await context.ReadAsync(handle, buffer, (seed % Blocks) * BenchFile.BlockSize).ConfigureAwait(false);
        }
    }

    private async Task RandomAccessLoop(byte[] buffer, uint seed, int reads)
    {
        SafeFileHandle handle = _file!.Handle;
        for (int i = 0; i < reads; i++)
        {
            seed = Next(seed);
            await RandomAccess.ReadAsync(handle, buffer, (seed % Blocks) * BenchFile.BlockSize).ConfigureAwait(false);
        }
    }

    private static uint Next(uint x)
    {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    }
}
