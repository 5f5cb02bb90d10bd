// Design: the file the read benchmarks use: 64 MiB on a disk-backed file system (KAIO_BENCH_DIR,
// else /var/tmp; never tmpfs, where the page cache is the file), written once per benchmark
// process, read through once so every block is in the page cache, removed at cleanup. Offsets are
// 4 KiB-aligned and uniformly random over the file from a fixed seed, cycled through a table so
// choosing one costs an index and a mask.
namespace Kaio.Benchmarks;

/// <summary>A page-cached test file and the random 4 KiB offsets into it.</summary>
internal sealed class BenchFile : IDisposable
{
    public const int BlockSize = 4096;
    private const long FileSize = 64L << 20;
    private const int OffsetCount = 1 << 16;

    private readonly long[] _offsets = new long[OffsetCount];
    private int _next;

    public BenchFile()
    {
        string directory = Environment.GetEnvironmentVariable("KAIO_BENCH_DIR") is { Length: > 0 } dir ? dir : "/var/tmp";
        Path = System.IO.Path.Combine(directory, $"kaio-bench-{Environment.ProcessId}.dat");
        byte[] chunk = new byte[1 << 20];
        new Random(7).NextBytes(chunk);
        using (SafeFileHandle writer = File.OpenHandle(Path, FileMode.Create, FileAccess.Write))
        {
            for (long offset = 0; offset < FileSize; offset += chunk.Length)
            {
                RandomAccess.Write(writer, chunk, offset);
            }
        }

        Handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        for (long offset = 0; offset < FileSize; offset += chunk.Length)
        {
            RandomAccess.Read(Handle, chunk, offset);
        }

        var random = new Random(42);
        for (int i = 0; i < _offsets.Length; i++)
        {
            _offsets[i] = random.NextInt64(FileSize / BlockSize) * BlockSize;
        }
    }

    public string Path { get; }

    public SafeFileHandle Handle { get; }

    /// <summary>The next random block offset.</summary>
    public long NextOffset() => _offsets[_next++ & (OffsetCount - 1)];

    public void Dispose()
    {
        Handle.Dispose();
        File.Delete(Path);
    }
}
