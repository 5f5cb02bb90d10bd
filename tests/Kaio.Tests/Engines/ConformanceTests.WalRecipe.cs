using System.Buffers.Binary;
using System.IO.Hashing;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>
/// docs/wal.md's recipe, run as written on every engine that does I/O: create a preallocated
/// segment and make its name durable, append checksummed records from many tasks with
/// per-write Dsync (group-committed), reopen and read the log back to its last whole record.
/// </summary>
public abstract partial class ConformanceTests
{
    private const int WalRecord = 4096;

    [Fact]
    public async Task WalRecipe_ConcurrentDurableAppends_ReopenedLogHasEveryRecordInOrder()
    {
        RequireRealIo();
        const int Records = 256, Writers = 16;
        using var scratch = new TempFile();
        string directory = Path.Combine(Path.GetDirectoryName(scratch.Path)!, "wal-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        string segment = Path.Combine(directory, "000001.wal");
        CancellationToken ct = TestContext.Current.CancellationToken;
        try
        {
            AioContextOptions options = Options();
            options.WhenFull = AioFullBehavior.Wait;
            await using (AioContext ctx = AioContext.Setup(64, options))
            {
                // 1. A new segment: blocks reserved up front (the file's length stays 0), and its
                //    directory entry made durable before the first record is acknowledged.
                using SafeFileHandle log = AioFile.Open(segment, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read,
                    preallocationSize: (long)Records * WalRecord);
                await ctx.FlushDirectoryAsync(directory, ct);

                // 2. Appends: each writer takes the next sequence number (its offset) and awaits a
                //    Dsync write: durable when it completes, one fdatasync shared by every write
                //    that completed before it began (group commit).
                int next = -1;
                var writers = new Task[Writers];
                for (int w = 0; w < Writers; w++)
                {
                    writers[w] = Task.Run(async () =>
                    {
                        var record = new byte[WalRecord];
                        int sequence;
                        while ((sequence = Interlocked.Increment(ref next)) < Records)
                        {
                            EncodeRecord(record, sequence);
                            int written = await ctx.WriteAsync(log, record, (long)sequence * WalRecord, AioRwFlags.Dsync, ct);
                            Assert.Equal(WalRecord, written);
                        }
                    }, ct);
                }

                await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60), ct);
            }

            // 3. Recovery: reopen, read records in order, stop at the first that does not check.
            await using (AioContext ctx = AioContext.Setup(8, Options()))
            {
                using SafeFileHandle log = AioFile.Open(segment, FileMode.Open, FileAccess.Read, FileShare.Read);
                var record = new byte[WalRecord];
                int recovered = 0;
                while (await ctx.ReadAsync(log, record, (long)recovered * WalRecord, ct) == WalRecord && DecodeRecord(record) == recovered)
                {
                    recovered++;
                }

                Assert.Equal(Records, recovered);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A record: a magic number, its sequence, a payload, and a CRC-32 of everything before it in the last 4 bytes.</summary>
    private static void EncodeRecord(Span<byte> record, int sequence)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(record, WalMagic);
        BinaryPrimitives.WriteInt64LittleEndian(record[4..], sequence);
        record[12..^4].Fill((byte)sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(record[^4..], Crc32.HashToUInt32(record[..^4]));
    }

    /// <summary>The record's sequence number, or -1 when it is not a whole record (torn, or never written: zeros).</summary>
    private static long DecodeRecord(ReadOnlySpan<byte> record)
        => BinaryPrimitives.ReadUInt32LittleEndian(record) == WalMagic
            && BinaryPrimitives.ReadUInt32LittleEndian(record[^4..]) == Crc32.HashToUInt32(record[..^4])
                ? BinaryPrimitives.ReadInt64LittleEndian(record[4..])
                : -1;

    private const uint WalMagic = 0x4C41574B; // "KWAL"
}
