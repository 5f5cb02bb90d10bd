// Design: what each write carries when the job asks for generated content (fio's io_u.c
// fill_io_buffer() and dedupe.c, in our own terms): refill_buffers, buffer_compress_percentage
// and dedupe_percentage. A buffer's bytes are a function of a 64-bit content seed, so a
// duplicate is made by generating the same seed again rather than by keeping buffers.
//  - compression: every buffer_compress_chunk bytes (0: the whole request), the first
//    (100 - percentage) % are random and the rest zeros, or buffer_pattern repeated;
//  - dedupe: each write is a duplicate with dedupe_percentage chance. dedupe_mode=repeat repeats
//    the last unique write; working_set: the job's first unique writes, as many as
//    dedupe_working_set_percentage of the region holds blocks, form the working set, and a
//    duplicate is one of them drawn uniformly. dedupe_global: the participating threads' working
//    sets are one, numbered across them (thread j of n writes members j, j + n, ...), so a
//    duplicate may repeat a block another job wrote.
// Threading: NextSeed on one thread at a time (the job thread, or under the awaited runner's
// lock); Fill is pure and may run anywhere.
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>dedupe_global's sharing: this thread's place among the participating threads.</summary>
internal readonly record struct DedupeShare(int Index, int Count);

/// <summary>Generated write content for one job thread.</summary>
internal sealed class BufferContent
{
    private const ulong GlobalSetSeed = 0xD1B54A32D192ED03UL;

    private readonly int _compressPercent;
    private readonly int _chunk;
    private readonly byte[]? _pattern;
    private readonly int _dedupePercent;
    private readonly bool _workingSetMode;
    private readonly long _workingSet;
    private readonly ulong _setSeed;
    private readonly DedupeShare _share;
    private ulong _state;
    private ulong? _lastUnique;
    private long _setWritten; // members of this thread's share of the working set written so far

    private BufferContent(JobSpec job, int thread, long regionLength, DedupeShare? share)
    {
        _compressPercent = job.BufferCompressPercentage ?? 0;
        _chunk = job.BufferCompressChunk;
        _pattern = job.BufferPattern;
        _dedupePercent = job.DedupePercentage;
        _workingSetMode = job.DedupeWorkingSet;
        _share = share ?? new DedupeShare(0, 1);
        _workingSet = Math.Max(1, regionLength * job.DedupeWorkingSetPercentage / 100 / Math.Max(1, job.BlockSize));
        _state = job.Seed ^ (0xBF58476D1CE4E5B9UL * (ulong)(thread + 1)) ^ 0x7C3A_55E1_0F2D_9B11UL;
        _setSeed = share is null ? _state ^ 0x94D049BB133111EBUL : GlobalSetSeed ^ job.Seed;
    }

    /// <summary>The content generator of the run's thread number <paramref name="thread"/> (jobs sharing a seed still write different data, as in fio), or null when writes keep their buffers.</summary>
    public static BufferContent? For(JobSpec job, int thread, long regionLength, DedupeShare? share)
        => job.GeneratesContent ? new BufferContent(job, thread, regionLength, job.DedupeGlobal ? share : null) : null;

    /// <summary>The content seed of the next write: a new one, or a duplicate's.</summary>
    public ulong NextSeed()
    {
        bool duplicate = _dedupePercent > 0 && (int)(((UInt128)Next(ref _state) * 100) >> 64) < _dedupePercent;
        if (!_workingSetMode)
        {
            if (duplicate && _lastUnique is { } last)
            {
                return last;
            }

            ulong unique = Next(ref _state);
            _lastUnique = unique;
            return unique;
        }

        long setTotal = _workingSet * _share.Count;
        if (duplicate && (_setWritten > 0 || _share.Count > 1))
        {
            // Without sharing, only members this thread wrote already; shared, any member (the others write theirs meanwhile).
            long members = _share.Count > 1 ? setTotal : _setWritten;
            return Member((long)(((UInt128)Next(ref _state) * (ulong)members) >> 64));
        }

        if (_setWritten < _workingSet)
        {
            return Member(_share.Index + (_setWritten++ * _share.Count));
        }

        return Next(ref _state);
    }

    /// <summary>Fills <paramref name="buffer"/> with the content of <paramref name="seed"/>.</summary>
    public void Fill(Span<byte> buffer, ulong seed)
    {
        ulong state = seed;
        int chunk = _chunk <= 0 || _chunk > buffer.Length ? buffer.Length : _chunk;
        for (int at = 0; at < buffer.Length; at += chunk)
        {
            Span<byte> part = buffer.Slice(at, Math.Min(chunk, buffer.Length - at));
            int random = _compressPercent == 0 ? part.Length : part.Length * (100 - _compressPercent) / 100;
            FillRandom(part[..random], ref state);
            Span<byte> fixedPart = part[random..];
            if (_pattern is { } pattern)
            {
                for (int p = 0; p < fixedPart.Length; p += pattern.Length)
                {
                    pattern.AsSpan(0, Math.Min(pattern.Length, fixedPart.Length - p)).CopyTo(fixedPart[p..]);
                }
            }
            else
            {
                fixedPart.Clear();
            }
        }
    }

    private ulong Member(long index)
    {
        ulong state = _setSeed + ((ulong)index * 0x9E3779B97F4A7C15UL);
        return Next(ref state);
    }

    private static void FillRandom(Span<byte> span, ref ulong state)
    {
        int at = 0;
        for (; at + 8 <= span.Length; at += 8)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(span[at..], Next(ref state));
        }

        if (at < span.Length)
        {
            ulong last = Next(ref state);
            for (; at < span.Length; at++, last >>= 8)
            {
                span[at] = (byte)last;
            }
        }
    }

    // SplitMix64.
    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
