// Design: 4 KiB reads of random blocks of a page-cached file, per engine, against .NET's own
// RandomAccess.ReadAsync (the baseline, one thread-pool hop per read). Two shapes: one ReadAsync
// awaited at a time (queue depth 1, what a simple caller does), and batches of 32 through Submit +
// GetEvents (queue depth 32 from one thread, what fio's page-cache runs measure). Each engine's
// context is set up only for its own methods, so an engine that cannot work here fails its own
// rows with the reason and leaves the others alone. Linux AIO is synchronous on buffered files
// (io_submit does the copy); it is here for its cost, not its concurrency.
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;

namespace Kaio.Benchmarks;

/// <summary>4 KiB page-cache reads through each engine and through RandomAccess.</summary>
[Config(typeof(BenchConfig))]
public class PageCacheReadBenchmarks : IDisposable
{
    private const int Batch = 32;

    private readonly Iocb[] _batch = new Iocb[Batch];
    private readonly IoEvent[] _events = new IoEvent[Batch];
    private readonly byte[][] _buffers = new byte[Batch][];
    private BenchFile? _file;
    private AioContext? _context;

    /// <summary>Creates the buffers and the page-cached file.</summary>
    public PageCacheReadBenchmarks()
    {
        for (int i = 0; i < Batch; i++)
        {
            _buffers[i] = new byte[BenchFile.BlockSize];
        }
    }

    /// <summary>The baseline's setup: the file only.</summary>
    [GlobalSetup(Target = nameof(RandomAccessReadAsync))]
    public void SetupRandomAccess() => _file = new BenchFile();

    /// <summary>The io_uring engine's setup.</summary>
    [GlobalSetup(Targets = [nameof(IoUringReadAsync), nameof(IoUringSubmitGetEvents32)])]
    public void SetupIoUring() => Setup(AioEngineKind.IoUring);

    /// <summary>The Linux AIO engine's setup.</summary>
    [GlobalSetup(Targets = [nameof(LinuxAioReadAsync), nameof(LinuxAioSubmitGetEvents32)])]
    public void SetupLinuxAio() => Setup(AioEngineKind.LinuxAio);

    /// <summary>The thread-pool engine's setup.</summary>
    [GlobalSetup(Targets = [nameof(ThreadPoolReadAsync), nameof(ThreadPoolSubmitGetEvents32)])]
    public void SetupThreadPool() => Setup(AioEngineKind.ThreadPool);

    /// <summary>.NET RandomAccess.ReadAsync, awaited.</summary>
    [Benchmark(Baseline = true)]
    public ValueTask<int> RandomAccessReadAsync() => RandomAccess.ReadAsync(_file!.Handle, _buffers[0], _file.NextOffset());

    /// <summary>io_uring: ReadAsync, awaited.</summary>
    [Benchmark]
    public ValueTask<int> IoUringReadAsync() => ReadOne();

    /// <summary>Linux AIO: ReadAsync, awaited.</summary>
    [Benchmark]
    public ValueTask<int> LinuxAioReadAsync() => ReadOne();

    /// <summary>Thread pool: ReadAsync, awaited.</summary>
    [Benchmark]
    public ValueTask<int> ThreadPoolReadAsync() => ReadOne();

    /// <summary>io_uring: 32 reads in one Submit, all reaped.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int IoUringSubmitGetEvents32() => ReadBatch();

    /// <summary>Linux AIO: 32 reads in one Submit, all reaped.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int LinuxAioSubmitGetEvents32() => ReadBatch();

    /// <summary>Thread pool: 32 reads in one Submit, all reaped.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int ThreadPoolSubmitGetEvents32() => ReadBatch();

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
        _context = AioContext.Setup(256, new AioContextOptions { Engine = engine });
    }

    private ValueTask<int> ReadOne() => _context!.ReadAsync(_file!.Handle, _buffers[0], _file.NextOffset());

    private int ReadBatch()
    {
        AioContext context = _context!;
        BenchFile file = _file!;
        for (int i = 0; i < Batch; i++)
        {
            _batch[i] = Iocb.PrepPread(file.Handle, _buffers[i], file.NextOffset(), data: (ulong)i);
        }

        int submitted = context.Submit(_batch);
        int reaped = 0;
        while (reaped < submitted)
        {
            reaped += context.GetEvents(submitted - reaped, _events.AsSpan(reaped), timeout: null);
        }

        return reaped;
    }
}
