// A write-ahead log on Kaio: a preallocated segment whose name is made durable, appends from
// many tasks that are each durable when their WriteAsync returns (per-write Dsync, group-committed:
// one fdatasync covers every append that completed before it began), and recovery that reads the
// log back to its last whole record. docs/wal.md explains each step and the trade-offs.
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace Kaio.Samples;

/// <summary>Appends checksummed records durably, then reopens the log and recovers them.</summary>
public static class WriteAheadLogSample
{
    /// <summary>Bytes per record: the magic number, the sequence, a payload, a CRC-32.</summary>
    public const int RecordSize = 4096;

    private const uint Magic = 0x4C41574B; // "KWAL"

    /// <summary>Writes <paramref name="records"/> records from 32 tasks into a new segment in <paramref name="directory"/>, then recovers them; 0 when every record came back in order.</summary>
    public static async Task<int> RunAsync(string directory, int records, TextWriter output, CancellationToken ct, AioEngineKind engine = AioEngineKind.Auto)
    {
        Directory.CreateDirectory(directory);
        string segment = Path.Combine(directory, $"{DateTime.UtcNow:yyyyMMddHHmmssfff}.wal");

        // WhenFull = Wait: any number of appenders share a context of bounded size without EAGAIN.
        await using (AioContext ctx = AioContext.Setup(64, new AioContextOptions { Engine = engine, WhenFull = AioFullBehavior.Wait }))
        {
            // 1. The segment: its blocks reserved up front, its name durable before the first append.
            using SafeFileHandle log = AioFile.Open(segment, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read,
                preallocationSize: (long)records * RecordSize);
            await ctx.FlushDirectoryAsync(directory, ct);

            // 2. Appends, each durable when it completes.
            var clock = Stopwatch.StartNew();
            int next = -1;
            var appenders = new Task[32];
            for (int i = 0; i < appenders.Length; i++)
            {
                appenders[i] = Task.Run(async () =>
                {
                    byte[] record = new byte[RecordSize];
                    int sequence;
                    while ((sequence = Interlocked.Increment(ref next)) < records)
                    {
                        Encode(record, sequence);
                        int written = await ctx.WriteAsync(log, record, (long)sequence * RecordSize, AioRwFlags.Dsync, ct);
                        if (written != RecordSize)
                        {
                            throw new IOException($"short append of record {sequence}: {written} bytes");
                        }
                    }
                }, ct);
            }

            await Task.WhenAll(appenders);
            output.WriteLine($"{records} durable appends in {clock.Elapsed.TotalMilliseconds:F0} ms on {ctx.Engine} ({records / clock.Elapsed.TotalSeconds:F0}/s)");
        }

        // 3. Recovery: read in order to the first record that does not check.
        int recovered = 0;
        await using (AioContext ctx = AioContext.Setup(8, new AioContextOptions { Engine = engine }))
        {
            using SafeFileHandle log = AioFile.Open(segment, FileMode.Open, FileAccess.Read, FileShare.Read);
            byte[] record = new byte[RecordSize];
            while (await ctx.ReadAsync(log, record, (long)recovered * RecordSize, ct) == RecordSize && Decode(record) == recovered)
            {
                recovered++;
            }
        }

        output.WriteLine($"recovered {recovered} of {records} records from {segment}");
        File.Delete(segment);
        return recovered == records ? 0 : 1;
    }

    private static void Encode(Span<byte> record, int sequence)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(record, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(record[4..], sequence);
        record[12..^4].Fill((byte)sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(record[^4..], Crc32.HashToUInt32(record[..^4]));
    }

    /// <summary>The record's sequence, or -1 when it is not a whole record (torn, or never written).</summary>
    private static long Decode(ReadOnlySpan<byte> record)
        => BinaryPrimitives.ReadUInt32LittleEndian(record) == Magic
            && BinaryPrimitives.ReadUInt32LittleEndian(record[^4..]) == Crc32.HashToUInt32(record[..^4])
                ? BinaryPrimitives.ReadInt64LittleEndian(record[4..])
                : -1;
}
