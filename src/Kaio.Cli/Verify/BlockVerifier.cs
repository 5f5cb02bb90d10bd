// Design: fills blocks with a header and data derived from (seed, offset, generation), and checks
// blocks read back. Because the whole content of any write is a pure function of those three
// numbers, a bad block can be explained, not just rejected:
//   corrupted  — bytes differ from what the expected write put there (first bad byte reported);
//   torn       — every 512-byte sector is intact, but some come from the expected write and
//                others from an older write (or are zero): the write landed only in part;
//   misplaced  — an intact block whose header names another offset (written to the wrong place);
//   stale      — an intact block from an older write of this offset, or from another run (seed).
// Thread-safety: stateless; callers pass their own scratch buffers.
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Verify;

/// <summary>What was wrong with a block.</summary>
internal enum VerifyProblem
{
    /// <summary>Bytes differ from what was written.</summary>
    Corrupted,
    /// <summary>Some sectors hold the expected write, others an older one.</summary>
    Torn,
    /// <summary>An intact block that belongs at another offset.</summary>
    Misplaced,
    /// <summary>An intact block from an older write or another run.</summary>
    Stale,
    /// <summary>A block header in place, for a block of another size: the file was written with another bs.</summary>
    BsMismatch,
}

/// <summary>A verification failure: the first bad offset, and what was expected versus found.</summary>
internal sealed record VerifyFailure(VerifyProblem Problem, long BlockOffset, long BadOffset, string Expected, string Found, string Detail)
{
    /// <summary>One line: <c>verify: corrupted block at offset 12288: byte at offset 12400: expected 0x5a, found 0xa5 (1 byte differs)</c>.</summary>
    public string Describe(string file) => Problem == VerifyProblem.BsMismatch
        ? $"verify failed in {file}: block size mismatch at offset {BlockOffset.ToString(CultureInfo.InvariantCulture)}: the block there was written with {Found}, this job reads {Expected}"
        : string.Create(CultureInfo.InvariantCulture,
            $"verify failed in {file}: {Problem.ToString().ToLowerInvariant()} block at offset {BlockOffset}: first bad offset {BadOffset}: expected {Expected}, found {Found}{(Detail.Length > 0 ? " (" + Detail + ")" : "")}");

    /// <summary>The problem's name in JSON: corrupted, torn, misplaced, stale, bs_mismatch.</summary>
    public string ProblemName => Problem == VerifyProblem.BsMismatch ? "bs_mismatch" : Problem.ToString().ToLowerInvariant();
}

/// <summary>Writes and checks verified blocks.</summary>
internal static class BlockVerifier
{
    public const int SectorSize = 512;

    /// <summary>Fills <paramref name="block"/> as write number <paramref name="generation"/> of the block at <paramref name="offset"/>.</summary>
    public static void Fill(Span<byte> block, long offset, ulong seed, long generation, VerifyMode kind, byte[]? pattern = null)
    {
        new BlockHeader(offset, block.Length, kind, seed, generation, 0).WriteWithoutChecksum(block);
        FillPayload(block[BlockHeader.Size..], offset, seed, generation, pattern);
        BlockHeader.WriteChecksum(block, BlockHeader.ComputeChecksum(block, kind));
    }

    /// <summary>
    /// Fills a job's block: a header every verify_interval bytes (each naming its own offset),
    /// the payload verify_pattern or derived data.
    /// </summary>
    public static void Fill(Span<byte> block, long offset, ulong seed, long generation, JobSpec job)
    {
        int interval = job.VerifyInterval > 0 ? job.VerifyInterval : block.Length;
        VerifyMode kind = job.Verify == VerifyMode.None ? VerifyMode.XxHash64 : job.Verify;
        for (int at = 0; at < block.Length; at += interval)
        {
            Fill(block.Slice(at, Math.Min(interval, block.Length - at)), offset + at, seed, generation, kind, job.VerifyPattern);
        }
    }

    /// <summary>Checks a job's block interval by interval; the first bad interval's failure.</summary>
    public static VerifyFailure? Check(ReadOnlySpan<byte> block, long offset, ulong seed, long? expectedGeneration, JobSpec job, Span<byte> scratch)
    {
        int interval = job.VerifyInterval > 0 ? job.VerifyInterval : block.Length;
        for (int at = 0; at < block.Length; at += interval)
        {
            int length = Math.Min(interval, block.Length - at);
            if (Check(block.Slice(at, length), offset + at, seed, expectedGeneration, job.Verify, scratch, job.VerifyPattern) is { } failure)
            {
                return failure;
            }
        }

        return null;
    }

    private static void FillPayload(Span<byte> payload, long offset, ulong seed, long generation, byte[]? pattern)
    {
        if (pattern is not null)
        {
            for (int at = 0; at < payload.Length; at += pattern.Length)
            {
                pattern.AsSpan(0, Math.Min(pattern.Length, payload.Length - at)).CopyTo(payload[at..]);
            }

            return;
        }

        ulong state = seed ^ ((ulong)offset * 0x9E3779B97F4A7C15UL) ^ ((ulong)generation * 0xC2B2AE3D27D4EB4FUL);
        Span<ulong> words = MemoryMarshal.Cast<byte, ulong>(payload);
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = SplitMix64(ref state);
        }

        Span<byte> tail = payload[(words.Length * sizeof(ulong))..];
        if (tail.Length > 0)
        {
            Span<byte> last = stackalloc byte[sizeof(ulong)];
            BinaryPrimitives.WriteUInt64LittleEndian(last, SplitMix64(ref state));
            last[..tail.Length].CopyTo(tail);
        }
    }

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// Checks a block read from <paramref name="offset"/>. <paramref name="expectedGeneration"/> is the
    /// last write of this block this run made (0: laid out), or null when unknown (a file written
    /// earlier: then the block need only be intact, in place, and from this seed).
    /// <paramref name="scratch"/> must be at least the block's length.
    /// </summary>
    public static VerifyFailure? Check(ReadOnlySpan<byte> block, long offset, ulong seed, long? expectedGeneration, VerifyMode kind, Span<byte> scratch, byte[]? pattern = null)
    {
        bool hasHeader = BlockHeader.TryRead(block, out BlockHeader header);
        bool intact = hasHeader
            && header.Length == block.Length
            && header.Kind != VerifyMode.None
            && BlockHeader.ComputeChecksum(block, header.Kind) == header.Checksum;

        if (hasHeader && header.Offset == offset && header.Length != block.Length && header.Kind != VerifyMode.None && header.Length >= BlockHeader.Size
            && (header.Length > block.Length || BlockHeader.ComputeChecksum(block[..header.Length], header.Kind) == header.Checksum))
        {
            // verify_only (or a read job) with another bs than the writer's: every block would look corrupted.
            return new VerifyFailure(VerifyProblem.BsMismatch, offset, offset, "bs=" + FioValues.FormatSize(block.Length), "bs=" + FioValues.FormatSize(header.Length),
                "the file was written with another block size");
        }

        if (intact)
        {
            if (header.Offset != offset)
            {
                return new VerifyFailure(VerifyProblem.Misplaced, offset, offset, Hex(offset), Hex(header.Offset),
                    "the block written for offset " + header.Offset.ToString(CultureInfo.InvariantCulture) + " is here");
            }

            if (header.Seed != seed)
            {
                return new VerifyFailure(VerifyProblem.Stale, offset, offset, "seed " + Hex(seed), "seed " + Hex(header.Seed),
                    "written by another run");
            }

            if (expectedGeneration is { } expected && header.Generation != expected)
            {
                return new VerifyFailure(VerifyProblem.Stale, offset, offset, "generation " + Dec(expected), "generation " + Dec(header.Generation),
                    header.Generation < expected ? "an older write of this block" : "a write this run did not make");
            }

            return null;
        }

        long? imageGeneration = expectedGeneration ?? (hasHeader && header.Offset == offset ? header.Generation : null);
        if (imageGeneration is not { } generation)
        {
            uint magic = block.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(block) : 0;
            return new VerifyFailure(VerifyProblem.Corrupted, offset, offset, "header magic " + Hex(BlockHeader.Magic), "0x" + magic.ToString("x8", CultureInfo.InvariantCulture),
                "no valid block header");
        }

        if (hasHeader && header.Kind != VerifyMode.None)
        {
            kind = header.Kind;
        }

        Span<byte> expectedImage = scratch[..block.Length];
        Fill(expectedImage, offset, seed, generation, kind, pattern);

        // A torn write: every sector is either from the expected write or from an older one (the
        // generation the header claims, the write before the expected one, the layout, or zeros),
        // with both kinds present. Only reached for a block already known to be bad.
        var olderGenerations = new List<long>();
        if (hasHeader && header.Offset == offset && header.Seed == seed && header.Generation != generation)
        {
            olderGenerations.Add(header.Generation);
        }

        olderGenerations.Add(generation - 1);
        olderGenerations.Add(0);
        long[] candidates = [.. olderGenerations.Where(g => g >= 0 && g != generation).Distinct()];
        var olderImages = new byte[candidates.Length][];
        for (int i = 0; i < candidates.Length; i++)
        {
            olderImages[i] = new byte[block.Length];
            Fill(olderImages[i], offset, seed, candidates[i], kind, pattern);
        }

        if (IsTorn(block, expectedImage, olderImages, out long firstOld, out long oldSectors, out int olderIndex))
        {
            string found = olderIndex >= 0 ? "generation " + Dec(candidates[olderIndex]) + " in part" : "zeros in part";
            return new VerifyFailure(VerifyProblem.Torn, offset, offset + firstOld, "generation " + Dec(generation), found,
                Dec(oldSectors) + " of " + Dec((block.Length + SectorSize - 1) / SectorSize) + " sectors hold an older write or were never written");
        }

        int first = block.CommonPrefixLength(expectedImage);
        int differing = 0;
        for (int i = first; i < block.Length; i++)
        {
            if (block[i] != expectedImage[i])
            {
                differing++;
            }
        }

        return new VerifyFailure(VerifyProblem.Corrupted, offset, offset + first, "0x" + expectedImage[first].ToString("x2", CultureInfo.InvariantCulture), "0x" + block[first].ToString("x2", CultureInfo.InvariantCulture),
            Dec(differing) + (differing == 1 ? " byte differs" : " bytes differ") + (first < BlockHeader.Size ? ", in the header" : ""));
    }

    private static bool IsTorn(ReadOnlySpan<byte> block, ReadOnlySpan<byte> expected, byte[][] olderImages, out long firstOld, out long oldSectors, out int olderIndex)
    {
        firstOld = -1;
        oldSectors = 0;
        olderIndex = -1;
        long newSectors = 0;
        for (int start = 0; start < block.Length; start += SectorSize)
        {
            int length = Math.Min(SectorSize, block.Length - start);
            ReadOnlySpan<byte> sector = block.Slice(start, length);
            if (sector.SequenceEqual(expected.Slice(start, length)))
            {
                newSectors++;
                continue;
            }

            int match = -1;
            for (int i = 0; i < olderImages.Length && match < 0; i++)
            {
                if (sector.SequenceEqual(olderImages[i].AsSpan(start, length)))
                {
                    match = i;
                }
            }

            if (match < 0 && sector.ContainsAnyExcept((byte)0))
            {
                return false;
            }

            if (firstOld < 0)
            {
                firstOld = start;
            }

            if (match >= 0)
            {
                olderIndex = match;
            }

            oldSectors++;
        }

        return oldSectors > 0 && newSectors > 0;
    }

    private static string Hex(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Dec(long value) => value.ToString(CultureInfo.InvariantCulture);
}
