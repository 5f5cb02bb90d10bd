// An O_DIRECT file copy: both files bypass the page cache, so the buffers, offsets and lengths
// follow the file system's direct-I/O alignment (AioFile.GetDirectIoAlignment) and come from an
// AlignedBufferPool. Chunks are copied by InFlight tasks at once, each reading a chunk and writing
// it back out at the same offset; the destination is created at the source's length rounded up
// to the alignment, preallocated, and trimmed to the exact length at the end (an O_DIRECT write
// cannot write a partial block). One fdatasync at the end makes the copy durable.
using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Kaio.Samples;

/// <summary>Copies a file with O_DIRECT reads and writes, several chunks in flight.</summary>
public static class DirectCopySample
{
    private const int ChunkSize = 1 << 20;
    private const int InFlight = 8;

    /// <summary>Creates a file of <paramref name="bytes"/> random bytes in <paramref name="directory"/>, copies it and compares; 0 when the copy is identical.</summary>
    public static async Task<int> RunAsync(string directory, long bytes, TextWriter output, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        string source = Path.Combine(directory, "source.bin"), destination = Path.Combine(directory, "copy.bin");
        byte[] chunk = new byte[ChunkSize];
        using (FileStream file = File.Create(source))
        {
            for (long written = 0; written < bytes; written += chunk.Length)
            {
                Random.Shared.NextBytes(chunk);
                file.Write(chunk, 0, (int)Math.Min(chunk.Length, bytes - written));
            }
        }

        try
        {
            int status = await CopyAsync(source, destination, output, ct);
            bool same = status == 0 && FilesEqual(source, destination);
            output.WriteLine(same ? "the copy is identical" : "the copy differs");
            return same ? 0 : 1;
        }
        finally
        {
            File.Delete(source);
            File.Delete(destination);
        }
    }

    /// <summary>Copies <paramref name="source"/> to a new file <paramref name="destination"/>; 0 on success.</summary>
    public static async Task<int> CopyAsync(string source, string destination, TextWriter output, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        DirectIoAlignment align = AioFile.GetDirectIoAlignment(Path.GetFullPath(source));
        long length = new FileInfo(source).Length;
        long padded = (length + align.OffsetAlignment - 1) / align.OffsetAlignment * align.OffsetAlignment;

        using SafeFileHandle input = AioFile.Open(source, FileMode.Open, FileAccess.Read, FileShare.Read, AioOpenOptions.Direct);
        using SafeFileHandle copy = AioFile.Open(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, AioOpenOptions.Direct,
            preallocationSize: padded);
        // Disposed after the context (declared first): no buffer is freed while a request uses it.
        using var buffers = new AlignedBufferPool(ChunkSize, Math.Max(align.MemoryAlignment, 4096), InFlight);
        await using (AioContext ctx = AioContext.Setup(InFlight * 2))
        {
            long next = -ChunkSize;
            var copiers = new Task[InFlight];
            for (int i = 0; i < copiers.Length; i++)
            {
                Memory<byte> buffer = buffers[i];
                copiers[i] = Task.Run(async () =>
                {
                    long offset;
                    while ((offset = Interlocked.Add(ref next, ChunkSize)) < padded)
                    {
                        // The last chunk: read what is there (a short read at end of file), write
                        // whole blocks (the tail past the end is trimmed below).
                        int want = (int)Math.Min(ChunkSize, padded - offset);
                        int got = await ctx.ReadAsync(input, buffer[..want], offset, ct);
                        int blocks = (got + align.OffsetAlignment - 1) / align.OffsetAlignment * align.OffsetAlignment;
                        buffer.Span[got..blocks].Clear();
                        int put = await ctx.WriteAsync(copy, buffer[..blocks], offset, AioRwFlags.None, ct);
                        if (put != blocks)
                        {
                            throw new IOException($"short write at {offset}: {put} of {blocks} bytes");
                        }
                    }
                }, ct);
            }

            await Task.WhenAll(copiers);
            await ctx.FlushAsync(copy, dataOnly: true, ct);
            output.WriteLine($"copied {length:N0} bytes in {clock.Elapsed.TotalMilliseconds:F0} ms ({length / clock.Elapsed.TotalSeconds / (1 << 20):F0} MiB/s) on {ctx.Engine}, O_DIRECT, {InFlight} chunks of {ChunkSize >> 10} KiB in flight");
        }

        RandomAccess.SetLength(copy, length); // ftruncate: drop the padding of the last block
        return 0;
    }

    private static bool FilesEqual(string a, string b)
    {
        byte[] x = File.ReadAllBytes(a), y = File.ReadAllBytes(b);
        return x.AsSpan().SequenceEqual(y);
    }
}
